import mongoose, { Connection, Schema } from 'mongoose';
import { testMongoUri, uniqueSuffix } from '@app/test-support';

// Checks the MongoDB features the event store relies on, against the provisioned server (FerretDB here).
describe('mongoose against the provisioned MongoDB-wire server', () => {
  let connection: Connection;
  const CommitSchema = new Schema(
    { streamId: String, version: Number, commandId: String, events: [Schema.Types.Mixed], dispatched: Boolean },
    { versionKey: false },
  );
  CommitSchema.index({ streamId: 1, version: 1 }, { unique: true, name: 'stream_version' });
  CommitSchema.index({ streamId: 1, commandId: 1 }, { unique: true, name: 'stream_command' });

  beforeAll(async () => {
    connection = await mongoose.createConnection(testMongoUri(`smoke_${uniqueSuffix()}`), { autoIndex: false }).asPromise();
  });
  afterAll(async () => {
    await connection.dropDatabase();
    await connection.close();
  });

  const Commits = () => connection.model('Commit', CommitSchema, 'commits');

  it('creates compound unique indexes', async () => {
    await Commits().syncIndexes();
    const names = (await Commits().listIndexes()).map((i) => i.name);
    expect(names).toEqual(expect.arrayContaining(['stream_version', 'stream_command']));
  });

  it('inserts and finds in order', async () => {
    await Commits().insertMany([
      { streamId: 'web', version: 2, commandId: 'b', events: [{ type: 'B' }], dispatched: false },
      { streamId: 'web', version: 1, commandId: 'a', events: [{ type: 'A', data: { nested: [1, 2] } }], dispatched: false },
    ]);
    const found = await Commits().find({ streamId: 'web' }).sort({ version: 1 }).lean();
    expect(found.map((c) => c.version)).toEqual([1, 2]);
    expect(found[0].events).toEqual([{ type: 'A', data: { nested: [1, 2] } }]);
  });

  it('reports a duplicate as error 11000; MongoDB names the index, FerretDB 1.x only the collection', async () => {
    let error: { code?: number; message?: string; keyPattern?: unknown } | undefined;
    try {
      await Commits().create({ streamId: 'web', version: 1, commandId: 'c', events: [], dispatched: false });
    } catch (e) {
      error = e as typeof error;
    }
    expect(error?.code).toBe(11000);
    // The event store therefore tells a version conflict from a duplicate command by a follow-up query.
    const info = await connection.db!.admin().command({ buildInfo: 1 });
    if (info.ferretdbVersion) {
      expect(error?.message).toMatch(/E11000 duplicate key error collection: .*commits/);
    } else {
      expect(error?.message).toMatch(/stream_version/);
      expect(error?.keyPattern).toEqual({ streamId: 1, version: 1 });
    }
  });

  it('refuses a second document with the same (streamId, commandId)', async () => {
    await expect(
      Commits().create({ streamId: 'web', version: 3, commandId: 'a', events: [], dispatched: false }),
    ).rejects.toMatchObject({ code: 11000 });
  });

  it('applies a conditional update only when the condition holds', async () => {
    const first = await Commits().updateOne({ streamId: 'web', version: 1, dispatched: false }, { $set: { dispatched: true } });
    expect(first.matchedCount).toBe(1);
    const second = await Commits().updateOne({ streamId: 'web', version: 1, dispatched: false }, { $set: { dispatched: true } });
    expect(second.matchedCount).toBe(0);
  });
});
