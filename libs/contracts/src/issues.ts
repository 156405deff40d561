import type { z } from 'zod';

export interface IssueDetail {
  path: string;
  message: string;
}

/** Zod issues as `path: message` pairs, the root named `root` (a body, a query, a message). */
export const issueDetails = (error: z.ZodError, root = '(root)'): IssueDetail[] =>
  error.issues.map((issue) => ({ path: issue.path.length ? issue.path.join('.') : root, message: issue.message }));

/** Zod issues as one line, for a problem's detail or a dead-letter reason. */
export const describeIssues = (error: z.ZodError, root = '(root)'): string =>
  issueDetails(error, root).map((i) => `${i.path}: ${i.message}`).join('; ');
