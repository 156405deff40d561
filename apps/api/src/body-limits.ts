import { jsonTextDepth } from '@app/contracts';

/** How deep a request body nests above the values it carries (body, values). */
const BODY_DEPTH_ABOVE_VALUES = 1;

/**
 * A body-parser `verify` hook: refuses a JSON body nested deeper than values may be, from its bytes,
 * before it is parsed (body-parser answers with the error's status; ProblemFilter names the code).
 */
export const bodyDepthGuard =
  (maxValuesDepth: number) =>
  (_req: unknown, _res: unknown, buf: Buffer): void => {
    if (jsonTextDepth(buf.toString('utf8')) > maxValuesDepth + BODY_DEPTH_ABOVE_VALUES) {
      throw Object.assign(new Error(`The body nests deeper than ${maxValuesDepth} levels`), { status: 400, type: 'entity.too.deep' });
    }
  };
