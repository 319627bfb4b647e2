"""The ``.npz`` archives of ``Module.save`` and ``Module.load``: a zip of ``name.npy`` members.

Written with ``zipfile`` and ``numpy.lib.format`` (so any name, ``file`` and ``allow_pickle``
included, is just a member name) and read the same way, checking before reading any array:

1. the file is a zip archive at all (an empty file, a single ``.npy``, a pickle or text is named
   as such);
2. the member names, from the archive's directory (nothing decompressed);
3. each expected member's ``.npy`` header (a few hundred bytes): a real-number dtype and the
   module's shape, and a size in the directory that matches the header exactly.

Only then are the arrays read, so a file's claims cost nothing until they are known to fit the
module: a 0.3 MB archive whose member unpacks to 300 MB is refused for its size or shape without
unpacking it. Nothing is ever unpickled.
"""

from __future__ import annotations

import math
import zipfile

import numpy as np
from numpy.lib import format as npy

EXPECTED = "expected an .npz archive written by Module.save (a zip of name.npy arrays)"


def write_npz(path, arrays: dict) -> None:
    """Write ``{name: array}`` to ``path`` (a file name or a binary file), one ``name.npy`` each."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, arr in arrays.items():
            with archive.open(name + ".npy", "w", force_zip64=True) as member:
                npy.write_array(member, np.asanyarray(arr), allow_pickle=False)


class NpzReader:
    """An ``.npz`` archive opened for checked reading: ``names`` from its directory, then
    ``arrays(shapes)``. Errors are ``ValueError``s that start with ``where`` and say what the file
    is and what was expected."""

    def __init__(self, path, where: str):
        self.where = where
        _check_is_zip(path, where)
        try:
            self.archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, EOFError) as e:
            raise ValueError(f"{where}: the file is a damaged or truncated zip archive ({e}): {EXPECTED}") from None
        self.members = {}
        for info in self.archive.infolist():
            if not info.filename.endswith(".npy") or info.is_dir():
                self.archive.close()
                raise ValueError(f"{where}: member {info.filename!r} is not a .npy array: {EXPECTED}")
            self.members[info.filename[: -len(".npy")]] = info
        self.names = list(self.members)

    def arrays(self, shapes: dict) -> dict:
        """``{name: array}`` for each ``name: shape`` of ``shapes`` (all of them members): every header
        is checked against its shape before any array is read."""
        layout = {name: _check_header(self.archive, self.members[name], s, self.where) for name, s in shapes.items()}
        return {name: _read_data(self.archive, self.members[name], *layout[name]) for name in layout}

    def close(self) -> None:
        self.archive.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _check_is_zip(path, where) -> None:
    if hasattr(path, "read"):
        head = path.read(8)
        path.seek(-len(head), 1)
    else:
        with open(path, "rb") as f:
            head = f.read(8)
    if head.startswith(b"PK"):
        return
    if not head:
        what = "the file is empty"
    elif head.startswith(b"\x93NUMPY"):
        what = "the file is a single .npy array (np.save), not an archive of named arrays"
    elif head[:1] == b"\x80":
        what = "the file looks like a pickle, which load never unpickles"
    else:
        what = f"the file is not a zip archive (it starts with {head!r})"
    raise ValueError(f"{where}: {what}: {EXPECTED}")


def _check_header(archive, info, shape, where) -> tuple:
    """``(shape, dtype, fortran_order, header bytes)`` of a member whose header fits ``shape``."""
    name = info.filename
    with archive.open(info) as f:
        try:
            version = npy.read_magic(f)
            if version == (1, 0):
                found, fortran, dtype = npy.read_array_header_1_0(f)
            elif version == (2, 0):
                found, fortran, dtype = npy.read_array_header_2_0(f)
            else:
                raise ValueError(f".npy format version {version} is not supported (1.0 and 2.0 are)")
        except ValueError as e:
            raise ValueError(f"{where}: member {name!r} is not a valid .npy array ({e}): {EXPECTED}") from None
        header = f.tell()
    found = tuple(found)
    if dtype.kind not in "fiub" or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(f"{where}: member {name!r} has dtype {dtype}, expected real numbers")
    if found != tuple(shape):
        raise ValueError(f"{where}: member {name!r} has shape {found} in the file but {tuple(shape)} in the module")
    nbytes = math.prod(found) * dtype.itemsize
    if info.file_size != header + nbytes:
        raise ValueError(
            f"{where}: member {name!r} holds {info.file_size - header} bytes of data but its header "
            f"(shape {found}, dtype {dtype}) needs {nbytes}: the file is damaged"
        )
    return found, dtype, fortran, header


def _read_data(archive, info, shape, dtype, fortran, header) -> np.ndarray:
    with archive.open(info) as f:
        f.read(header)
        data = f.read(info.file_size - header)
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
