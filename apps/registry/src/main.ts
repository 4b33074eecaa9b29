// Placeholder until the registry service lands (issue 4): say what `npm start` will do.
process.stderr.write(
  'sigil-registry: the registry service is not built yet.\n' +
    'It will listen on HOST:PORT (default 127.0.0.1:8787) with its SQLite database and keys in SIGIL_DATA_DIR (default ./.sigil).\n',
);
export {};
