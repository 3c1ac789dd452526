// Applies a service's numbered SQL files once each, in order, inside its own schema.
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from './db.ts';

/** The outbox and inbox tables, shared by every service. */
export const kitMigrationsDir = fileURLToPath(new URL('./migrations', import.meta.url));

export async function migrate(db: Db, schema: string, dirs: readonly string[]): Promise<string[]> {
  if (!/^[a-z_]+$/.test(schema)) throw new Error(`bad schema name ${schema}`);
  const listed = await Promise.all(dirs.map(async (dir) => (await readdir(dir)).filter((f) => f.endsWith('.sql')).map((f) => join(dir, f))));
  const files = listed.flat().sort((a, b) => basename(a).localeCompare(basename(b)));
  return db.tx(async (q) => {
    // Several replicas may start at once: one migrates, the others wait and find nothing to do.
    await q.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`migrate:${schema}`]);
    await q.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await q.query(`CREATE TABLE IF NOT EXISTS ${schema}.migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await q.query<{ name: string }>(`SELECT name FROM ${schema}.migrations`)).rows.map((r) => r.name));
    const applied: string[] = [];
    for (const path of files) {
      const name = basename(path);
      if (done.has(name)) continue;
      const sql = (await readFile(path, 'utf8')).replaceAll('{{schema}}', schema);
      await q.exec(sql);
      await q.query(`INSERT INTO ${schema}.migrations (name) VALUES ($1)`, [name]);
      applied.push(name);
    }
    return applied;
  });
}
