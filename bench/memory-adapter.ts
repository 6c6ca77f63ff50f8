import type { Adapter, AdapterPayload } from 'oidc-provider';

// The baseline's storage: plain Maps, nothing else. (oidc-provider's own in-memory adapter
// keeps at most 1,000 entries, fewer than a benchmark run makes, and would forget live
// refresh tokens.) Expired entries are swept every ten seconds so memory stays flat.
const store = new Map<string, { payload: AdapterPayload; expiresAt: number }>();
const byUid = new Map<string, string>();
const byGrant = new Map<string, Set<string>>();

setInterval(() => {
  const now = Date.now();
  for (const [key, entry] of store) {
    if (entry.expiresAt <= now) {
      store.delete(key);
      if (entry.payload.uid) byUid.delete(entry.payload.uid);
    }
  }
}, 10_000).unref();

export class MemoryAdapter implements Adapter {
  constructor(private readonly model: string) {}
  private key(id: string): string {
    return `${this.model}:${id}`;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    const key = this.key(id);
    store.set(key, { payload, expiresAt: Date.now() + expiresIn * 1000 });
    if (payload.uid) byUid.set(payload.uid, id);
    if (payload.grantId) {
      let keys = byGrant.get(payload.grantId);
      if (!keys) byGrant.set(payload.grantId, (keys = new Set()));
      keys.add(key);
    }
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const entry = store.get(this.key(id));
    return entry && entry.expiresAt > Date.now() ? entry.payload : undefined;
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const id = byUid.get(uid);
    return id ? this.find(id) : undefined;
  }

  async findByUserCode(): Promise<AdapterPayload | undefined> {
    return undefined;
  }

  async consume(id: string): Promise<void> {
    const entry = store.get(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id: string): Promise<void> {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    for (const key of byGrant.get(grantId) ?? []) store.delete(key);
    byGrant.delete(grantId);
  }
}
