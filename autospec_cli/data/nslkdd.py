"""NSL-KDD records (``KDDTrain+.txt``, ``KDDTest+.txt``, ...) as classification data.

43 comma-separated fields, no header: 41 KDD features, the label (``normal`` or an attack
name) and the difficulty score (not a feature; dropped). The 38 numeric features are kept as
they are; ``protocol_type``, ``service`` and ``flag`` are one-hot encoded over the FIXED
vocabularies of the whole NSL-KDD data (3 protocols, 70 services, 11 flags), so every NSL-KDD
file gives the same 122 columns (``service=http``, ...) whatever values it happens to hold. A
value outside these vocabularies is an error.

Labels: ``label="attack"`` (the default) gives two classes ``normal`` / ``attack``;
``label="label"`` keeps the attack names as classes (``normal`` first, then sorted).

Feature kinds (:mod:`autospec_cli.data.kinds`) are declared: the three one-hot groups
(``protocol_type``, ``service``, ``flag``) and the counting features (:data:`INTEGER`: the
numeric ones not ending in ``_rate``) as integers -- those whose values in the file are all
integral, which is all of them in the published files.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from autospec_cli.data.dataset import Dataset
from autospec_cli.data.kinds import META_KEY as KINDS_KEY
from autospec_cli.data.kinds import FeatureKinds, integral_columns
from autospec_cli.data.nonfinite import apply_nan_policy
from autospec_cli.data.table import Table, columns_matrix, first_line, iter_chunks
from autospec_cli.errors import ConfigError, InputError

COLUMNS: tuple[str, ...] = tuple(
    "duration protocol_type service flag src_bytes dst_bytes land wrong_fragment urgent "
    "hot num_failed_logins logged_in num_compromised root_shell su_attempted num_root "
    "num_file_creations num_shells num_access_files num_outbound_cmds is_host_login "
    "is_guest_login count srv_count serror_rate srv_serror_rate rerror_rate "
    "srv_rerror_rate same_srv_rate diff_srv_rate srv_diff_host_rate dst_host_count "
    "dst_host_srv_count dst_host_same_srv_rate dst_host_diff_srv_rate "
    "dst_host_same_src_port_rate dst_host_srv_diff_host_rate dst_host_serror_rate "
    "dst_host_srv_serror_rate dst_host_rerror_rate dst_host_srv_rerror_rate label "
    "difficulty".split()
)
PROTOCOLS: tuple[str, ...] = ("tcp", "udp", "icmp")
SERVICES: tuple[str, ...] = tuple(
    "aol auth bgp courier csnet_ns ctf daytime discard domain domain_u echo eco_i ecr_i "
    "efs exec finger ftp ftp_data gopher harvest hostnames http http_2784 http_443 "
    "http_8001 imap4 IRC iso_tsap klogin kshell ldap link login mtp name netbios_dgm "
    "netbios_ns netbios_ssn netstat nnsp nntp ntp_u other pm_dump pop_2 pop_3 printer "
    "private red_i remote_job rje shell smtp sql_net ssh sunrpc supdup systat telnet "
    "tftp_u tim_i time urh_i urp_i uucp uucp_path vmnet whois X11 Z39_50".split()
)
FLAGS: tuple[str, ...] = tuple("OTH REJ RSTO RSTOS0 RSTR S0 S1 S2 S3 SF SH".split())
CATEGORICAL: dict[str, tuple[str, ...]] = {
    "protocol_type": PROTOCOLS,
    "service": SERVICES,
    "flag": FLAGS,
}
NUMERIC: tuple[str, ...] = tuple(c for c in COLUMNS[:41] if c not in CATEGORICAL)
LABEL_MODES: tuple[str, ...] = ("attack", "label")
#: The numeric features that count things (integers); the others are rates in [0, 1].
INTEGER: tuple[str, ...] = tuple(c for c in NUMERIC if not c.endswith("_rate"))


def is_nslkdd_file(path: str | os.PathLike[str]) -> bool:
    """43 fields with a protocol name (tcp/udp/icmp) in the second one."""
    cells = first_line(path).split(",")
    return len(cells) == len(COLUMNS) and cells[1].strip() in PROTOCOLS


def feature_names() -> list[str]:
    """The 122 feature names: numeric columns, then one-hot ``column=value`` blocks."""
    onehot = [f"{c}={v}" for c, vocab in CATEGORICAL.items() for v in vocab]
    return list(NUMERIC) + onehot


def one_hot(table: Table, column: str) -> np.ndarray:
    """The one-hot block of a categorical column over its fixed vocabulary."""
    vocab = CATEGORICAL[column]
    index = {v: i for i, v in enumerate(vocab)}
    j = COLUMNS.index(column)
    out = np.zeros((len(table.rows), len(vocab)), dtype=np.float64)
    for i, row in enumerate(table.rows):
        k = index.get(row[j].strip())
        if k is None:
            raise InputError(
                f"{table.path}: unknown {column} value {row[j].strip()!r} "
                f"on line {table.line_of(i)}; "
                f"NSL-KDD {column} is one of {len(vocab)} known values"
            )
        out[i, k] = 1.0
    return out


def encode_labels(names: list[str], mode: str) -> tuple[np.ndarray, list[str]]:
    """Class indices and class names for ``mode`` ``attack`` (binary) or ``label`` (names)."""
    if mode == "attack":
        classes = ["normal", "attack"]
        return np.array([s != "normal" for s in names], dtype=np.int64), classes
    classes = sorted(set(names), key=lambda s: (s != "normal", s))
    code = {c: i for i, c in enumerate(classes)}
    return np.array([code[s] for s in names], dtype=np.int64), classes


def feature_index(features: list[str] | None, p: Path) -> list[int] | None:
    """Column positions of the requested features among :func:`feature_names` (None: all)."""
    if features is None:
        return None
    names = feature_names()
    missing = [f for f in features if f not in names]
    if missing:
        raise InputError(
            f"{p}: no NSL-KDD feature(s) {', '.join(map(repr, missing))}; "
            "numeric names are as in the README, one-hot ones like service=http"
        )
    return [names.index(f) for f in features]


def encode_chunk(table: Table) -> np.ndarray:
    """The 122 feature columns of a chunk of records."""
    if len(table.rows[0]) != len(COLUMNS):
        raise InputError(
            f"{table.path}: NSL-KDD records have {len(COLUMNS)} fields, found {len(table.rows[0])}"
        )
    idx = [COLUMNS.index(c) for c in NUMERIC]
    blocks = [columns_matrix(table, idx, list(NUMERIC))] + [one_hot(table, c) for c in CATEGORICAL]
    return np.concatenate(blocks, axis=1)


def load_nslkdd(
    path: str | os.PathLike[str],
    *,
    features: list[str] | None = None,
    label: str | None = None,
    nan_policy: str = "drop",
) -> Dataset:
    """Load an NSL-KDD text file: 122 features (one-hot categoricals), binary labels by default."""
    mode = label or "attack"
    if mode not in LABEL_MODES:
        raise ConfigError(
            "NSL-KDD label must be 'attack' (normal/attack) or 'label' (attack names), "
            f"got {mode!r}",
            param="label",
        )
    p = Path(path)
    pick = feature_index(features, p)
    names = feature_names() if pick is None else list(features or [])
    parts: list[np.ndarray] = []
    labels: list[str] = []
    j = COLUMNS.index("label")
    for table in iter_chunks(p, header=False):
        X = encode_chunk(table)
        parts.append(X if pick is None else X[:, pick])
        labels.extend(row[j].strip() for row in table.rows)
    y, classes = encode_labels(labels, mode)
    X, y, _, nan_meta = apply_nan_policy(np.concatenate(parts), y, names, nan_policy, source=str(p))
    meta = {"format": "nsl-kdd", "source": str(p), "label": mode, **nan_meta,
            KINDS_KEY: declared_kinds(X, names).to_json()}
    return Dataset(
        X=X, y=y, features=names, task="classification", name=p.stem, classes=classes, meta=meta
    )


def declared_kinds(X: np.ndarray, names: list[str]) -> FeatureKinds:
    """The one-hot groups and integer features among ``names`` (the selected columns of X)."""
    groups = {c: [f"{c}={v}" for v in vocab] for c, vocab in CATEGORICAL.items()}
    integral = integral_columns(X)
    integer = [f for j, f in enumerate(names) if f in INTEGER and integral[j]]
    kinds = FeatureKinds(integer, groups)
    return kinds.restricted(names)
