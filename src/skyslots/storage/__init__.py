"""Generated artifacts in object storage (docs/storage.md)."""

from skyslots.storage.base import Storage, StorageUnavailable, StoredObject
from skyslots.storage.factory import prepare, storage_for

__all__ = ["Storage", "StorageUnavailable", "StoredObject", "prepare", "storage_for"]
