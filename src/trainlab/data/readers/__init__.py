"""Dataset readers, one module per layout. Each returns a :class:`~.common.Table`; the shared
checks, the carving of missing splits and the Manifest itself live in :mod:`trainlab.data.formats`."""
