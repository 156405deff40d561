import { randomBytes } from 'node:crypto';
import { ValuesCipher } from '@app/contracts';
import { compactRelease, ReleaseCommand, ReleaseState } from '@app/domain';
import { commitHash, commitKey, handleCommand, loadStream, loadWholeStream, MongoEventStore, UnknownEventError } from '@app/event-store';
import { uniqueSuffix } from '@app/test-support';
import { Types } from 'mongoose';
import { RELEASE_AGGREGATE, RELEASE_EVENT_SCHEMAS } from './release-aggregate';
import { installCommand, metadataMaker, useStoreDatabase } from './store.spec-support';

// What the stored log holds, read back on the real MongoDB-wire server: a very long stream, events this
// code does not know, values sealed at rest.
describe('the stored log, read back', () => {
  const db = useStoreDatabase('log');
  const meta = metadataMaker();
  const install = installCommand;
  const handle = (releaseId: string, command: ReleaseCommand, metadata = meta()) => handleCommand(db.store, releaseId, command, metadata, RELEASE_AGGREGATE);
  const complete = async (releaseId: string) => {
    const { state } = await loadStream(db.store, releaseId, RELEASE_AGGREGATE.decider);
    const pending = (state as Exclude<ReleaseState, { status: 'NONE' }>).pending!;
    return handle(releaseId, { type: 'RecordOperationResult', data: { releaseId, operationId: pending.operationId, outcome: 'SUCCEEDED', helmRevision: 1 } });
  };

  it('loads a stream of 10,000 revisions from a snapshot plus the tail', async () => {
    const id = 'long';
    await handle(id, install(id));
    await complete(id);
    // 10,000 revisions are written straight to the collection (a real decision each would take minutes);
    // each commit is what the decider would produce: an upgrade request and its outcome.
    const { state: start, version: v0, hash: h0 } = await loadStream(db.store, id, RELEASE_AGGREGATE.decider);
    let state = start;
    let version = v0;
    let hash = h0;
    const docs = [];
    for (let revision = 3; revision <= 10_001; revision += 1) {
      const command: ReleaseCommand = { type: 'UpgradeRelease', data: { releaseId: id, values: { i: revision } } };
      const m = meta({ commandId: `long-${revision}` });
      const requested = RELEASE_AGGREGATE.decider.decide(command, state, m);
      state = requested.reduce(RELEASE_AGGREGATE.decider.evolve, state);
      const done = RELEASE_AGGREGATE.decider.decide(
        { type: 'RecordOperationResult', data: { releaseId: id, operationId: m.commandId, outcome: 'SUCCEEDED', helmRevision: revision - 1 } },
        state,
        meta({ commandId: `long-${revision}-done` }),
      );
      state = done.reduce(RELEASE_AGGREGATE.decider.evolve, state);
      version += 1;
      const events = [...requested, ...done].map((e, i) => ({ eventId: `${id}:${version}:${i}`, type: e.type, schemaVersion: 1, data: JSON.stringify(e.data) }));
      const body = { streamId: id, version, commandId: m.commandId, commandType: 'UpgradeRelease', events, result: 'null', metadata: { actor: 't', correlationId: 'c', now: m.now }, prevHash: hash };
      hash = commitHash(body);
      docs.push({ _id: commitKey(id, version), pos: new Types.ObjectId(), ...body, recordedAt: new Date(), dispatched: true, hash });
      if (version % 1000 === 0) await db.store.saveSnapshot(id, version, 1, { state, hash });
    }
    for (let i = 0; i < docs.length; i += 1000) await db.store.commits.collection.insertMany(docs.slice(i, i + 1000) as never[]);
    const loaded = await loadStream(db.store, id, RELEASE_AGGREGATE.decider);
    expect(loaded.version).toBe(version);
    expect(loaded.state).toEqual(state);
    const release = loaded.state as Exclude<ReleaseState, { status: 'NONE' }>;
    expect(release.revisions).toHaveLength(10_000);
    expect(release.revisions[9_999]).toMatchObject({ revision: 10_000, status: 'DEPLOYED', values: { i: 10_001 } });
    // And the next real decision lands after the tail.
    const next = await handle(id, { type: 'RollbackRelease', data: { releaseId: id, targetRevision: 1 } });
    expect(next).toMatchObject({ outcome: 'ACCEPTED', result: { revision: 10_001, targetRevision: 1 } });
  }, 120_000);

  it('an unknown event type or schema version in the log is a clear error naming it, never skipped', async () => {
    const id = 'unknown';
    await handle(id, install(id));
    await db.store.commits.collection.insertOne({
      _id: commitKey(id, 2),
      pos: new Types.ObjectId(),
      streamId: id,
      version: 2,
      commandId: 'alien',
      commandType: 'Alien',
      events: [{ eventId: `${id}:2:0`, type: 'ReleaseTeleported', schemaVersion: 1, data: '{}' }],
      result: 'null',
      metadata: { actor: 'x', correlationId: 'x', now: new Date().toISOString() },
      recordedAt: new Date(),
      dispatched: true,
      prevHash: '',
      hash: '',
    } as never);
    await expect(db.store.readStream(id)).rejects.toThrow(UnknownEventError);
    await expect(db.store.readStream(id)).rejects.toThrow(/'ReleaseTeleported'.*'unknown' at version 2/);
    await db.store.commits.collection.updateOne({ streamId: id, version: 2 }, { $set: { 'events.0.type': 'RevisionDeployed', 'events.0.schemaVersion': 9 } });
    await expect(db.store.readStream(id)).rejects.toThrow(/'RevisionDeployed' with schema version 9/);
  });

  it('with a cipher, values are sealed in commits, snapshots and archived history, and read back exactly', async () => {
    const sealedStore = new MongoEventStore(db.connection, { schemas: RELEASE_EVENT_SCHEMAS, cipher: new ValuesCipher(randomBytes(32)), prefix: 'sealed_' });
    await sealedStore.ensureIndexes();
    const id = 'sealed';
    const secret = `pw-${uniqueSuffix()}`;
    const command = { ...install(id), data: { ...(install(id).data as object), values: { password: secret } } } as unknown as ReleaseCommand;
    // A snapshot after every commit, holding one revision: revision 1 goes to the archive at the upgrade.
    const options = { ...RELEASE_AGGREGATE, snapshotEvery: 1, history: { ...RELEASE_AGGREGATE.history!, chunkSize: 1, compact: (s: ReleaseState) => compactRelease(s, 1, 1) } };
    const installed = meta();
    await handleCommand(sealedStore, id, command, installed, options);
    await handleCommand(sealedStore, id, { type: 'RecordOperationResult', data: { releaseId: id, operationId: installed.commandId, outcome: 'SUCCEEDED' } }, meta(), options);
    await handleCommand(sealedStore, id, { type: 'UpgradeRelease', data: { releaseId: id, values: { other: 1 } } }, meta(), options);
    const raw = JSON.stringify([await sealedStore.commits.find({}).lean(), await sealedStore.snapshots.find({}).lean()]);
    const archive = JSON.stringify(await sealedStore.archive.find({}).lean());
    expect(raw + archive).not.toContain(secret);
    expect(raw).toContain('sealed:v1.');
    expect(raw).toContain('$sealed');
    expect(archive).toContain('sealed:v1.');
    const loaded = await loadWholeStream(sealedStore, id, RELEASE_AGGREGATE.decider, options as never);
    expect(loaded.version).toBe(3);
    expect((loaded.state as Exclude<ReleaseState, { status: 'NONE' }>).revisions[0].values).toEqual({ password: secret });
    expect((await sealedStore.readCommit(id, 1))!.events[0].data).toMatchObject({ values: { password: secret } });
  });
});
