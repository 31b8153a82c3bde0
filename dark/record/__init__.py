"""The record: a store of finished runs (results/<record>/runs/), their hashes, record.json."""
