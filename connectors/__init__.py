"""How robots reach the systems a municipality already has: REST case systems, mailboxes,
registries and legacy web UIs. Flows import these; the core package never does."""
