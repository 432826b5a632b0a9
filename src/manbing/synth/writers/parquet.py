"""Parquet for the analytics warehouse: ``DIR/<table>/part-<chunk>.parquet``, DB column names."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq

from manbing.synth.generator import Batch


class ParquetWriter:
    def __init__(self, directory: Path, *, replace: bool = False, with_truth: bool = False) -> None:
        self.directory = directory
        self.with_truth = with_truth
        self.rows: dict[str, int] = {}
        if directory.exists() and any(directory.iterdir()):
            if not replace:
                raise FileExistsError(f"{directory} is not empty: pass --replace to overwrite it")
            shutil.rmtree(directory)
        directory.mkdir(parents=True, exist_ok=True)

    def write(self, batch: Batch) -> None:
        part = f"part-{batch.chunk + 1:05d}.parquet"
        items = list(batch.tables.items())
        if self.with_truth and batch.truth is not None:
            items.append(("_truth", batch.truth))
        for name, table in items:
            folder = self.directory / name
            folder.mkdir(exist_ok=True)
            pq.write_table(table, folder / part, compression="zstd")
            self.rows[name] = self.rows.get(name, 0) + table.num_rows

    def close(self) -> None:
        return None
