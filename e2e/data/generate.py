#!/usr/bin/python3
"""Deterministic DICOM Part-10 test corpus for the dicom-edge e2e tests.

    generate.py OUTDIR [--ct N] [--mr N] [--large-mb M] [--seed S]

Needs pydicom (Debian's python3-pydicom, 2.3.x). numpy is optional: when it
is importable it only speeds up the pixel patterns; the pure-Python path
writes byte-identical files (set DICOMEDGE_GEN_NO_NUMPY=1 to force it).

Layout of OUTDIR (it must be empty or absent):
  ct/          N CT Image Storage, one study, two series, 512x512 int16,
               explicit VR LE, private block "DICOMEDGE TEST" incl. a private SQ
  mr/          N MR Image Storage, another patient, 256x256 uint16, implicit VR LE
  multiframe/  mf_30frames.dcm   Multi-frame Grayscale Word SC, 30 x 128x128
                                 uint16 explicit LE; frame k (0-based), pixel i:
                                 ((k + 1) << 8) | (i & 0xFF), so every odd byte
                                 of frame k is k + 1 and the even bytes are the
                                 pixel index mod 256
               sc_rgb.dcm        64x64 RGB, PlanarConfiguration 0, explicit LE
               ct_bigendian.dcm  128x128 int16 CT, explicit VR big endian
  large/       (only with --large-mb > 0) one Multi-frame Grayscale Word SC of
               about M MiB, 512x512 uint16 frames, streamed to disk
  compressed/  byte-exact copies of pydicom's encapsulated/deflated/big-endian
               sample files
  manifest.json  written last, via rename, so its presence means "complete"

Every UID, name, date and pixel value derives from --seed and the options;
nothing depends on the clock, the host or the pydicom version (the File Meta
implementation UID/version are set explicitly for that reason).
"""

import argparse
import hashlib
import io
import json
import math
import os
import random
import shutil
import struct
import sys
import time
from array import array

import pydicom
from pydicom.filereader import data_element_generator
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

try:
    if os.environ.get("DICOMEDGE_GEN_NO_NUMPY"):
        raise ImportError("disabled by DICOMEDGE_GEN_NO_NUMPY")
    import numpy as np
except ImportError:
    np = None

MANIFEST_VERSION = 1
# The UID root pydicom itself uses for generated UIDs (a Medical Connections
# root handed out for exactly this); the suffix is a hash of seed + label.
UID_ROOT = "1.2.826.0.1.3680043.8.498."
IMPLEMENTATION_CLASS_UID = UID_ROOT + "1"
IMPLEMENTATION_VERSION = "DICOMEDGE_GEN1"

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
SC_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.7"
MF_GRAY_WORD_SC_STORAGE = "1.2.840.10008.5.1.4.1.1.7.3"

PRIVATE_CREATOR = "DICOMEDGE TEST"
# 17 characters on purpose: the writer pads it to 18 with a trailing space.
CT_STUDY_DESCRIPTION = "CT THORAX ABDOMEN"

SAMPLE_DIR = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
# Chosen to cover one instance per encapsulated/deflated/big-endian transfer
# syntax the archive must store untouched; the expected syntax is checked on
# copy so a changed pydicom package fails loudly instead of silently.
SAMPLES = [
    ("SC_rgb_jpeg_dcmtk.dcm", "1.2.840.10008.1.2.4.50"),  # JPEG baseline
    ("JPEG-lossy.dcm", "1.2.840.10008.1.2.4.51"),  # JPEG extended (12-bit)
    ("JPEG2000.dcm", "1.2.840.10008.1.2.4.91"),  # JPEG 2000
    ("MR_small_jp2klossless.dcm", "1.2.840.10008.1.2.4.90"),  # JPEG 2000 lossless
    ("MR_small_jpeg_ls_lossless.dcm", "1.2.840.10008.1.2.4.80"),  # JPEG-LS lossless
    ("MR_small_RLE.dcm", "1.2.840.10008.1.2.5"),  # RLE
    ("SC_rgb_rle_2frame.dcm", "1.2.840.10008.1.2.5"),  # RLE, 2 frames
    ("image_dfl.dcm", "1.2.840.10008.1.2.1.99"),  # deflated explicit LE
    ("MR_small_bigendian.dcm", "1.2.840.10008.1.2.2"),  # explicit big endian
]
ENCAPSULATED_PREFIXES = ("1.2.840.10008.1.2.4.", "1.2.840.10008.1.2.5")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Seeded:
    """All seed-derived values; labels keep UIDs stable when counts change."""

    def __init__(self, seed):
        self.seed = seed
        self.rng = random.Random(seed)

    def uid(self, label):
        digest = hashlib.sha256(f"dicomedge/{self.seed}/{label}".encode()).digest()
        # str(int) never starts with 0, so the first UID component is valid.
        suffix = str(int.from_bytes(digest, "big"))[: 64 - len(UID_ROOT)]
        value = UID_ROOT + suffix
        assert len(value) <= 64, value
        return value


# ---------------------------------------------------------------- pixels


def to_bytes(values, fmt):
    """Encode a flat list of ints; fmt is '<h', '<H', '>h', '>H' or 'B'."""
    if fmt == "B":
        return bytes(values)
    arr = array(fmt[1], values)
    want_little = fmt[0] == "<"
    if (sys.byteorder == "little") != want_little:
        arr.byteswap()
    return arr.tobytes()


def ct_base_frame(rows, cols, a, b):
    """Signed stored values in [-200, 2999]: diagonal ramps plus a product term
    so neighbouring rows differ (a pure ramp would hide row-stride bugs)."""
    if np is not None:
        r = np.arange(rows, dtype=np.int64).reshape(rows, 1)
        c = np.arange(cols, dtype=np.int64).reshape(1, cols)
        v = (r * a + c * b + ((r * c) >> 6)) % 3200 - 200
        return v.astype("<i2").tobytes()
    values = [
        (r * a + c * b + ((r * c) >> 6)) % 3200 - 200
        for r in range(rows)
        for c in range(cols)
    ]
    return to_bytes(values, "<h")


def mr_base_frame(rows, cols, a):
    """Unsigned 12-bit values (BitsStored 12) in a ring-like pattern."""
    cy, cx = rows // 2, cols // 2
    if np is not None:
        r = np.arange(rows, dtype=np.int64).reshape(rows, 1)
        c = np.arange(cols, dtype=np.int64).reshape(1, cols)
        v = (((r - cy) * (r - cy) + (c - cx) * (c - cx)) * a // 16 + c) % 4096
        return v.astype("<u2").tobytes()
    values = [
        (((r - cy) * (r - cy) + (c - cx) * (c - cx)) * a // 16 + c) % 4096
        for r in range(rows)
        for c in range(cols)
    ]
    return to_bytes(values, "<H")


def rotate(frame, pixels, bytes_per_pixel):
    """Frame rotated left by a whole number of pixels: cheap per-instance
    variation (one memcpy) that is identical with or without numpy."""
    off = (pixels * bytes_per_pixel) % len(frame)
    return frame[off:] + frame[:off]


def multiframe_frame(k, rows, cols):
    n = rows * cols
    if np is not None:
        i = np.arange(n, dtype=np.int64)
        return (((k + 1) << 8) | (i & 0xFF)).astype("<u2").tobytes()
    return to_bytes([((k + 1) << 8) | (i & 0xFF) for i in range(n)], "<H")


def rgb_frame(rows, cols):
    values = []
    for r in range(rows):
        for c in range(cols):
            values += [(c * 4) & 0xFF, (r * 4) & 0xFF, ((r + c) * 2) & 0xFF]
    return bytes(values)


# --------------------------------------------------------------- datasets


def new_file_dataset(sop_class, sop_instance, transfer_syntax):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_instance
    meta.TransferSyntaxUID = transfer_syntax
    meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.is_little_endian = transfer_syntax != ExplicitVRBigEndian
    ds.is_implicit_VR = transfer_syntax == ImplicitVRLittleEndian
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_instance
    return ds


def set_patient_study(ds, p):
    for key, value in p.items():
        setattr(ds, key, value)


def add_private_block(ds, label):
    """(0009,0010) creator, (0009,1001) LO, (0009,1002) OB, (0009,1003) SQ.
    The private SQ is written with undefined length and undefined-length
    items (while the standard SQ elsewhere uses defined lengths), so both
    sequence encodings reach the archive."""
    block = ds.private_block(0x0009, PRIVATE_CREATOR, create=True)
    block.add_new(0x01, "LO", f"private {label}")
    block.add_new(0x02, "OB", bytes([0xDE, 0xED, 0x6E, 0x01, 0x02, 0x03]))
    item = Dataset()
    item.CodeValue = "DE-1"
    item.CodingSchemeDesignator = "99DCMEDGE"
    item_block = item.private_block(0x0009, PRIVATE_CREATOR, create=True)
    item_block.add_new(0x01, "LO", "nested private")
    item.is_undefined_length_sequence_item = True
    block.add_new(0x03, "SQ", Sequence([item]))
    ds[block.get_tag(0x03)].is_undefined_length = True


def procedure_code_sequence(code, meaning):
    item = Dataset()
    item.CodeValue = code
    item.CodingSchemeDesignator = "LN"
    item.CodeMeaning = meaning
    return Sequence([item])


def save(ds, path):
    # write_like_original=False: always preamble + DICM + File Meta group with
    # its group length, whatever the dataset object looked like.
    ds.save_as(path, write_like_original=False)


def patient(s, key, modality_hint):
    rng = random.Random(f"{s.seed}/{key}")
    family = rng.choice(["VANDERBERG", "OKAFOR", "LINDQVIST", "NAKAMURA", "DUBOIS"])
    given = rng.choice(["ANNA", "JONAS", "MEI", "TOMASZ", "AMARA"])
    middle = rng.choice(["MARIA", "K", "LEE", "J"])
    year = rng.randrange(1940, 2000)
    month = rng.randrange(1, 13)
    day = rng.randrange(1, 29)
    study_day = rng.randrange(1, 29)
    hh, mm, ss = rng.randrange(7, 19), rng.randrange(60), rng.randrange(60)
    return {
        "SpecificCharacterSet": "ISO_IR 100",
        # Family^Given^Middle^Prefix^Suffix with an empty prefix component.
        "PatientName": f"{family}^{given}^{middle}^^PHD",
        "PatientID": f"DE{rng.randrange(10**7, 10**8)}",
        "PatientBirthDate": f"{year:04d}{month:02d}{day:02d}",
        "PatientSex": rng.choice(["F", "M", "O"]),
        "PatientAge": f"{2024 - year:03d}Y",
        "StudyDate": f"2024{month:02d}{study_day:02d}",
        "StudyTime": f"{hh:02d}{mm:02d}{ss:02d}.{rng.randrange(10**6):06d}",
        "AccessionNumber": f"A{rng.randrange(10**9, 10**10)}",
        "StudyID": f"{modality_hint}{rng.randrange(1000, 9999)}",
        # Latin-1 character under ISO_IR 100, as real referrals carry.
        "ReferringPhysicianName": "M\u00dcLLER^STEFAN",
        "InstitutionName": "DICOM EDGE TEST HOSPITAL",
        "Manufacturer": "DICOMEDGE",
    }


def write_ct(s, outdir, n):
    os.makedirs(os.path.join(outdir, "ct"))
    rows = cols = 512
    p = patient(s, "ct-patient", "CT")
    study = s.uid("ct/study")
    base = ct_base_frame(rows, cols, 3 + s.seed % 5, 7 + s.seed % 11)
    first = (n + 1) // 2  # series 1 gets the odd one out
    written = []
    for i in range(n):
        series_no = 1 if i < first else 2
        inst_no = i + 1 if series_no == 1 else i - first + 1
        sop = s.uid(f"ct/sop/{series_no}/{inst_no}")
        ds = new_file_dataset(CT_IMAGE_STORAGE, sop, ExplicitVRLittleEndian)
        set_patient_study(ds, p)
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.Modality = "CT"
        ds.StudyInstanceUID = study
        ds.SeriesInstanceUID = s.uid(f"ct/series/{series_no}")
        ds.FrameOfReferenceUID = s.uid("ct/for")
        ds.StudyDescription = CT_STUDY_DESCRIPTION
        ds.SeriesDescription = "AXIAL 1.0 SOFT" if series_no == 1 else "AXIAL 1.0 LUNG"
        ds.SeriesNumber = series_no
        ds.InstanceNumber = inst_no
        ds.AcquisitionNumber = 1
        ds.ProcedureCodeSequence = procedure_code_sequence("24627-2", "CT Chest")
        ds.BodyPartExamined = "CHEST"
        ds.KVP = "120"
        ds.SliceThickness = "1.0"
        ds.PatientPosition = "HFS"
        z = -100.0 - (inst_no - 1) * 1.0
        ds.ImagePositionPatient = ["-249.5", "-249.5", f"{z:.1f}"]
        ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
        ds.SliceLocation = f"{z:.1f}"
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows = rows
        ds.Columns = cols
        ds.PixelSpacing = ["0.976562", "0.976562"]
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1
        ds.WindowCenter = "40" if series_no == 1 else "-600"
        ds.WindowWidth = "400" if series_no == 1 else "1500"
        ds.RescaleIntercept = "-1024"
        ds.RescaleSlope = "1"
        ds.RescaleType = "HU"
        add_private_block(ds, f"ct {series_no}/{inst_no}")
        ds.PixelData = rotate(base, i * 2671, 2)
        ds["PixelData"].VR = "OW"
        path = os.path.join(outdir, "ct", f"CT_s{series_no}_{inst_no:04d}.dcm")
        save(ds, path)
        written.append(path)
    if written:
        with open(written[0], "rb") as f:
            raw = f.read()
        # Guards the "odd-length value padded with a space" case the e2e
        # tests rely on against a future writer change.
        assert CT_STUDY_DESCRIPTION.encode() + b" " in raw, \
            "StudyDescription was not space-padded"
    return written


def write_mr(s, outdir, n):
    os.makedirs(os.path.join(outdir, "mr"))
    rows = cols = 256
    p = patient(s, "mr-patient", "MR")
    study = s.uid("mr/study")
    series = s.uid("mr/series/1")
    base = mr_base_frame(rows, cols, 5 + s.seed % 7)
    written = []
    for i in range(n):
        inst_no = i + 1
        sop = s.uid(f"mr/sop/1/{inst_no}")
        ds = new_file_dataset(MR_IMAGE_STORAGE, sop, ImplicitVRLittleEndian)
        set_patient_study(ds, p)
        ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND"]
        ds.Modality = "MR"
        ds.StudyInstanceUID = study
        ds.SeriesInstanceUID = series
        ds.FrameOfReferenceUID = s.uid("mr/for")
        ds.StudyDescription = "MR BRAIN WO CONTRAST"
        ds.SeriesDescription = "T1 SE AX"
        ds.SeriesNumber = 1
        ds.InstanceNumber = inst_no
        ds.BodyPartExamined = "HEAD"
        ds.ScanningSequence = "SE"
        ds.SequenceVariant = "NONE"
        ds.MagneticFieldStrength = "1.5"
        ds.EchoTime = "14"
        ds.RepetitionTime = "500"
        ds.SliceThickness = "5"
        z = -40.0 + i * 5.0
        ds.ImagePositionPatient = ["-120", "-120", f"{z:.1f}"]
        ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
        ds.SliceLocation = f"{z:.1f}"
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows = rows
        ds.Columns = cols
        ds.PixelSpacing = ["0.9375", "0.9375"]
        ds.BitsAllocated = 16
        ds.BitsStored = 12
        ds.HighBit = 11
        ds.PixelRepresentation = 0
        ds.WindowCenter = "1024"
        ds.WindowWidth = "2048"
        add_private_block(ds, f"mr {inst_no}")
        ds.PixelData = rotate(base, i * 1543, 2)
        ds["PixelData"].VR = "OW"
        path = os.path.join(outdir, "mr", f"MR_{inst_no:04d}.dcm")
        save(ds, path)
        written.append(path)
    return written


def misc_patient_study(s, ds, key, desc):
    set_patient_study(ds, patient(s, "misc-patient", "MX"))
    ds.StudyInstanceUID = s.uid("misc/study")
    ds.StudyDescription = "DICOMEDGE PIXEL FORMATS"
    ds.SeriesInstanceUID = s.uid(f"misc/series/{key}")
    ds.SeriesDescription = desc
    ds.InstanceNumber = 1


def secondary_capture_module(ds, modality="OT"):
    ds.Modality = modality
    ds.ConversionType = "WSD"


def write_multiframe(s, outdir):
    d = os.path.join(outdir, "multiframe")
    os.makedirs(d)
    out = []

    # 30-frame 128x128 uint16, explicit LE.
    rows = cols = 128
    sop = s.uid("misc/sop/mf30")
    ds = new_file_dataset(MF_GRAY_WORD_SC_STORAGE, sop, ExplicitVRLittleEndian)
    misc_patient_study(s, ds, "mf30", "MULTIFRAME 30")
    secondary_capture_module(ds)
    ds.SeriesNumber = 10
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.NumberOfFrames = 30
    # FrameIncrementPointer -> FrameTimeVector: each frame has its own time.
    ds.FrameIncrementPointer = 0x00181065
    ds.FrameTimeVector = [f"{0 if k == 0 else 40}" for k in range(30)]
    ds.Rows = rows
    ds.Columns = cols
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelData = b"".join(multiframe_frame(k, rows, cols) for k in range(30))
    ds["PixelData"].VR = "OW"
    path = os.path.join(d, "mf_30frames.dcm")
    save(ds, path)
    out.append(path)

    # 64x64 RGB, PlanarConfiguration 0 (R G B interleaved per pixel).
    sop = s.uid("misc/sop/rgb")
    ds = new_file_dataset(SC_IMAGE_STORAGE, sop, ExplicitVRLittleEndian)
    misc_patient_study(s, ds, "rgb", "RGB SC")
    secondary_capture_module(ds)
    ds.SeriesNumber = 11
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    ds.Rows = 64
    ds.Columns = 64
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = rgb_frame(64, 64)
    ds["PixelData"].VR = "OB"
    path = os.path.join(d, "sc_rgb.dcm")
    save(ds, path)
    out.append(path)

    # Explicit VR big endian CT, 128x128 int16. pydicom writes OW bytes as
    # given, so the pixel bytes are encoded big endian here.
    rows = cols = 128
    sop = s.uid("misc/sop/bigendian")
    ds = new_file_dataset(CT_IMAGE_STORAGE, sop, ExplicitVRBigEndian)
    misc_patient_study(s, ds, "bigendian", "BIG ENDIAN CT")
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.Modality = "CT"
    ds.SeriesNumber = 12
    ds.FrameOfReferenceUID = s.uid("misc/for")
    ds.ImagePositionPatient = ["0", "0", "0"]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.PixelSpacing = ["1", "1"]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = rows
    ds.Columns = cols
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    ds.WindowCenter = "40"
    ds.WindowWidth = "400"
    le = ct_base_frame(rows, cols, 5, 9)
    # Swap each 16-bit pair: little endian int16 -> big endian int16.
    be = bytearray(len(le))
    be[0::2] = le[1::2]
    be[1::2] = le[0::2]
    ds.PixelData = bytes(be)
    ds["PixelData"].VR = "OW"
    path = os.path.join(d, "ct_bigendian.dcm")
    save(ds, path)
    out.append(path)
    return out


def write_large(s, outdir, large_mb):
    """Streams the pixel data so memory stays flat whatever the size: the
    header comes from pydicom, the (7FE0,0010) element is appended by hand."""
    d = os.path.join(outdir, "large")
    os.makedirs(d)
    rows = cols = 512
    frame_size = rows * cols * 2
    frames = max(1, math.ceil(large_mb * 1024 * 1024 / frame_size))
    length = frames * frame_size
    if length >= 0xFFFFFFFF:
        raise SystemExit(f"--large-mb {large_mb}: pixel data of {length} bytes "
                         "exceeds the 32-bit element length")
    sop = s.uid("large/sop")
    ds = new_file_dataset(MF_GRAY_WORD_SC_STORAGE, sop, ExplicitVRLittleEndian)
    set_patient_study(ds, patient(s, "large-patient", "LG"))
    secondary_capture_module(ds)
    ds.StudyInstanceUID = s.uid("large/study")
    ds.StudyDescription = "DICOMEDGE LARGE OBJECT"
    ds.SeriesInstanceUID = s.uid("large/series")
    ds.SeriesDescription = f"LARGE {frames} FRAMES"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.NumberOfFrames = frames
    ds.FrameIncrementPointer = 0x00181063  # FrameTime
    ds.FrameTime = "40"
    ds.Rows = rows
    ds.Columns = cols
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0

    path = os.path.join(d, "large.dcm")
    sha = hashlib.sha256()
    base = mr_base_frame(rows, cols, 3)
    # Doubled so that every rotation is one contiguous slice: no per-frame copy.
    doubled = memoryview(base + base)
    header = io.BytesIO()
    save(ds, header)
    header = header.getvalue()
    header_len = len(header)
    with open(path, "wb") as f:
        f.write(header)
        sha.update(header)
        elem = struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OW", 0, length)
        f.write(elem)
        sha.update(elem)
        for k in range(frames):
            # Rotation by an odd pixel count: frames are pairwise distinct
            # for any k below 512*512, so a wrong frame offset is detected.
            off = ((k * 7919) % (rows * cols)) * 2
            chunk = doubled[off : off + frame_size]
            f.write(chunk)
            sha.update(chunk)
    size = os.path.getsize(path)
    expected = header_len + len(elem) + length
    assert size == expected, f"large: size {size} != {expected}"
    check = pydicom.dcmread(path, stop_before_pixels=True)
    assert check.SOPInstanceUID == sop and int(check.NumberOfFrames) == frames
    # Walk the whole dataset with pydicom's own element parser, deferring
    # (seeking past) values over 1 KiB: proves the hand-written Pixel Data
    # element is the last one and has the length a reader will see, without
    # loading it.
    start = 132 + 12 + int(check.file_meta.FileMetaInformationGroupLength)
    with open(path, "rb") as f:
        f.seek(start)
        last = None
        for last in data_element_generator(f, False, True, defer_size=1024):
            pass
        assert f.tell() == size, f"large: parser stopped at {f.tell()} of {size}"
    assert last is not None and last.tag == 0x7FE00010, "large: Pixel Data not last"
    assert last.length == length, f"large: parsed length {last.length} != {length}"
    return path, sha.hexdigest(), header_len + len(elem)


def copy_samples(outdir):
    d = os.path.join(outdir, "compressed")
    os.makedirs(d)
    out = []
    for name, want_ts in SAMPLES:
        src = os.path.join(SAMPLE_DIR, name)
        with open(src, "rb") as f:
            head = f.read(132)
        if len(head) < 132 or head[128:132] != b"DICM":
            raise SystemExit(f"{src}: no preamble/DICM prefix")
        ts = pydicom.dcmread(src, stop_before_pixels=True).file_meta.TransferSyntaxUID
        if ts != want_ts:
            raise SystemExit(f"{src}: transfer syntax {ts}, expected {want_ts}")
        dst = os.path.join(d, name)
        shutil.copyfile(src, dst)
        out.append(dst)
    return out


# --------------------------------------------------------------- manifest


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def entry_for(outdir, path, group, source, known_sha=None, known_pixel_offset=None):
    size = os.path.getsize(path)
    ds = pydicom.dcmread(path, stop_before_pixels=known_sha is not None)
    ts = str(ds.file_meta.TransferSyntaxUID)
    rows = int(ds.get("Rows", 0)) or None
    cols = int(ds.get("Columns", 0)) or None
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    encapsulated = ts.startswith(ENCAPSULATED_PREFIXES)
    frame_size = None
    pixel_offset = known_pixel_offset
    if rows and cols and not encapsulated:
        bits = int(ds.BitsAllocated)
        frame_size = rows * cols * int(ds.get("SamplesPerPixel", 1)) * bits // 8
        if pixel_offset is None and "PixelData" in ds:
            # Offset of the pixel value in the file, when the value is the
            # file's tail byte-for-byte (not for deflated files, where the
            # bytes on disk are compressed).
            value = ds.PixelData
            if len(value) > size:
                value = b""
            with open(path, "rb") as f:
                f.seek(size - len(value))
                if value and f.read() == value:
                    pixel_offset = size - len(value)
    return {
        "path": os.path.relpath(path, outdir).replace(os.sep, "/"),
        "group": group,
        "source": source,
        "size": size,
        "sha256": known_sha or sha256_file(path),
        "sopClassUid": str(ds.SOPClassUID),
        "sopInstanceUid": str(ds.SOPInstanceUID),
        "studyInstanceUid": str(ds.StudyInstanceUID),
        "seriesInstanceUid": str(ds.SeriesInstanceUID),
        "transferSyntaxUid": ts,
        "numberOfFrames": frames,
        "rows": rows,
        "columns": cols,
        "samplesPerPixel": int(ds.get("SamplesPerPixel", 1)),
        "bitsAllocated": int(ds.get("BitsAllocated", 0)) or None,
        "frameSize": frame_size,
        "pixelDataOffset": pixel_offset,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--ct", type=int, default=200)
    ap.add_argument("--mr", type=int, default=20)
    ap.add_argument("--large-mb", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    if args.ct < 0 or args.mr < 0 or args.large_mb < 0:
        ap.error("counts and sizes must be >= 0")

    outdir = os.path.abspath(args.outdir)
    # A non-empty folder could mix old files into the new corpus; the caller
    # (corpus.ts) clears it, a human gets a clear error instead.
    if os.path.exists(outdir) and os.listdir(outdir):
        raise SystemExit(f"{outdir} is not empty")
    os.makedirs(outdir, exist_ok=True)
    s = Seeded(args.seed)
    t0 = time.monotonic()
    entries = []

    def timed(name, fn):
        t = time.monotonic()
        result = fn()
        log(f"generate.py: {name} {time.monotonic() - t:.2f}s")
        return result

    for p in timed(f"ct x{args.ct}", lambda: write_ct(s, outdir, args.ct)):
        entries.append(entry_for(outdir, p, "ct", "generated"))
    for p in timed(f"mr x{args.mr}", lambda: write_mr(s, outdir, args.mr)):
        entries.append(entry_for(outdir, p, "mr", "generated"))
    for p in timed("multiframe", lambda: write_multiframe(s, outdir)):
        entries.append(entry_for(outdir, p, "multiframe", "generated"))
    if args.large_mb > 0:
        path, sha, offset = timed(
            f"large {args.large_mb:g} MiB", lambda: write_large(s, outdir, args.large_mb)
        )
        entries.append(entry_for(outdir, path, "large", "generated", sha, offset))
    for p in timed("compressed", lambda: copy_samples(outdir)):
        entries.append(
            entry_for(outdir, p, "compressed", "pydicom:" + os.path.basename(p))
        )

    entries.sort(key=lambda e: e["path"])
    manifest = {
        "version": MANIFEST_VERSION,
        "options": {
            "ct": args.ct,
            "mr": args.mr,
            # int when integral so that JSON shows 1024, not 1024.0
            "largeMb": int(args.large_mb) if args.large_mb.is_integer() else args.large_mb,
            "seed": args.seed,
        },
        "files": entries,
    }
    tmp = os.path.join(outdir, "manifest.json.tmp")
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, os.path.join(outdir, "manifest.json"))
    log(f"generate.py: {len(entries)} files, total {time.monotonic() - t0:.2f}s"
        f" (numpy {'yes' if np is not None else 'no'})")


if __name__ == "__main__":
    main()
