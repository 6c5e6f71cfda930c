"""The publish step: an immutable, versioned folder per publication, and an atomic switch of `latest`."""
