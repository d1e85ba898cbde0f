"""Switchboard's top floor: settings, storage, pipeline, bus, app and the composition root."""
