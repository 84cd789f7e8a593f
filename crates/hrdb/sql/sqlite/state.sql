-- Emulator bookkeeping (not part of any Cisco schema): which spec was loaded and up to when.
CREATE TABLE IF NOT EXISTS hrdb_load_state (
    id INTEGER PRIMARY KEY,
    fingerprint text NOT NULL,
    written_until_ms INTEGER NOT NULL
);
