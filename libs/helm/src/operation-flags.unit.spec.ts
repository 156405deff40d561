import { operationFlags } from './helm-cli.adapter';

// Which argv flags the recorded options become (the real helm runs them in the e2e tier).
describe('operationFlags', () => {
  it('waits by default and adds each flag asked for, never text', () => {
    expect(operationFlags()).toEqual(['--wait']);
    expect(operationFlags({ waitForJobs: true, noHooks: true, cleanupOnFail: true, force: true })).toEqual(['--wait', '--wait-for-jobs', '--no-hooks', '--cleanup-on-fail', '--force']);
  });

  it('drops --wait and --wait-for-jobs when wait is off, and flags set to false', () => {
    expect(operationFlags({ wait: false, waitForJobs: true })).toEqual([]);
    expect(operationFlags({ noHooks: false, force: false })).toEqual(['--wait']);
  });
});
