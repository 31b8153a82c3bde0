"""A run's settings, typed: :class:`RunConfig` (what ``config.json`` holds) and :class:`Measured` (what a
training found when it set up).

Re-exported by :mod:`dark.experiment.runs`, which names a run's files and reads them
(:class:`dark.experiment.runs.Run`); here so that a run's settings stand on their own.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from dark import codecs, models
from dark.design import profiles
from dark.design.skeleton import INPUT_SIZE, STRIDE
from dark.experiment.device import resolve_precision

#: target standard deviation, heatmap px (the report's)
SIGMA = 2.0
#: Adam's learning rate (the report's)
LR = 2e-3
#: the profile ``dark.experiment.train.train`` and ``dark train`` use when none is named (the book's default
#: too)
DEFAULT_PROFILE = "quick"

#: ``config.json``'s block that a record adds (:mod:`dark.record.run_store`: digest and provenance of the
#: run);
#: :meth:`RunConfig.from_json` skips it
RECORD_KEY = "record"

#: ``config.json`` keys of older versions that :meth:`RunConfig.from_json` reads and drops: ``config`` (the
#: profile's old name), ``grid`` and ``rounding`` (copies of the encoding's row), ``original_size``
_OLD_KEYS = ("config", "grid", "rounding", "original_size")


@dataclass(frozen=True)
class Measured:
    """What a training found when it set up (:func:`dark.experiment.train.set_up`), recorded in
    ``config.json``.

    ``n_val`` is ``None`` where no validation split was loaded.
    """

    n_train: int
    n_val: int | None
    world_size: int
    device: str  #: ``"cpu"`` or ``"cuda"``
    torch: str  #: torch's version
    parameters: int  #: trainable parameters of the network
    #: torch's CPU threads (``None``: not recorded, an older run). Not in the run's digest: 1 and 2 threads
    #: sum in another order and train other weights, as other processors do; both are samples of one recipe
    threads: int | None = None


@dataclass(frozen=True)
class RunConfig:
    """One run's settings: what ``config.json`` holds, typed.

    Built by :meth:`resolve` (from a profile of :data:`dark.design.profiles.PROFILES` and the arguments of
    :func:`dark.experiment.train.train`) or :meth:`from_json`; every setting is stored once (the encoding's
    grid and rounding are its row of :data:`dark.codecs.ENCODINGS`; the codec is :attr:`codec`).

    Attributes:
        model: a name of :data:`dark.models.MODELS`.
        encoding: a name of :data:`dark.codecs.ENCODINGS`.
        profile: a name of :data:`dark.design.profiles.PROFILES` (the recipe's source).
        seed: seeds the weights, every epoch's shuffling and random rounding.
        model_config: the model configuration (:data:`dark.models.CONFIGS`) of the profile.
        model_kwargs: the model constructor's arguments (JSON form: lists, not tuples).
        sigma: target standard deviation, heatmap px.
        input_size: ``(H, W)`` of the NETWORK's input (the original 160x320 map downsampled).
        heatmap_size: ``(h, w)`` of the heatmaps.
        heatmap_stride: original input px per heatmap px.
        scaling: ``"stride"`` or ``"udp"`` (:func:`dark.codecs.to_heatmap`).
        precision: ``"fp32"`` or ``"bf16"`` (resolved for the device).
        measured: what the training measured when it set up (``None`` before it ran).

    Example:
        >>> c = RunConfig.resolve("sh", "ceil", "quick", seed=3)
        >>> c.profile, c.model_config, c.input_size, c.heatmap_size, c.heatmap_stride
        ('quick', 'quick', (80, 160), (20, 40), 8)
        >>> c.codec.spec.rounding, c.codec.input_size
        ('ceil', (160, 320))
        >>> RunConfig.from_json(c.to_json()) == c
        True
    """

    model: str
    encoding: str
    profile: str
    seed: int
    model_config: str
    model_kwargs: dict[str, Any]
    sigma: float
    input_size: tuple[int, int]
    heatmap_size: tuple[int, int]
    heatmap_stride: int
    scaling: str
    epochs: int
    batch_size: int
    lr: float
    betas: tuple[float, float]
    weight_decay: float
    schedule: str
    precision: str
    loss: str = "mse"
    decoder: str = "dark"
    measured: Measured | None = None

    def __post_init__(self) -> None:
        if self.model not in models.MODELS:
            raise ValueError(f"unknown model {self.model!r}; expected one of {sorted(models.MODELS)}")
        if self.encoding not in codecs.ENCODINGS:
            raise ValueError(f"unknown encoding {self.encoding!r}; expected one of {list(codecs.ENCODINGS)}")
        if self.epochs < 1 or self.batch_size < 1 or not self.lr > 0:
            got = f"{self.epochs}, {self.batch_size}, {self.lr}"
            raise ValueError(f"expected epochs >= 1, batch_size >= 1, lr > 0; got {got}")
        for name in ("input_size", "heatmap_size", "betas"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    @classmethod
    def resolve(
        cls,
        model: str,
        encoding: str,
        profile: str = DEFAULT_PROFILE,
        *,
        epochs: int | None = None,
        batch_size: int | None = None,
        lr: float = LR,
        seed: int = profiles.REPORT_SEED,
        precision: str | None = None,
        device: str | torch.device = "cpu",
        input_scale: int | None = None,
        **model_overrides: Any,
    ) -> RunConfig:
        """The settings of one training: ``profile``'s recipe and model configuration, the arguments
        given, ``precision`` resolved for ``device`` (``None``: the recipe's), the 160x320 input downsampled
        by ``input_scale`` (``None``: the recipe's; it sets :attr:`input_size`, :attr:`heatmap_size` and
        :attr:`heatmap_stride`, which the run's digest holds). ``ValueError`` names a bad one.
        """
        p = profiles.get(profile)
        recipe = p.recipe
        kwargs = models.model_kwargs(model, p.model_config, **model_overrides)
        scale = recipe.input_scale if input_scale is None else int(input_scale)
        if scale < 1 or INPUT_SIZE[0] % scale or INPUT_SIZE[1] % scale:
            raise ValueError(f"input_scale must divide the {INPUT_SIZE} input, got {input_scale!r}")
        input_size = (INPUT_SIZE[0] // scale, INPUT_SIZE[1] // scale)
        return cls(
            model=model,
            encoding=encoding,
            profile=p.name,
            seed=int(seed),
            model_config=p.model_config,
            model_kwargs={k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()},
            sigma=SIGMA,
            input_size=input_size,
            heatmap_size=tuple(math.ceil(s / STRIDE) for s in input_size),
            heatmap_stride=STRIDE * scale,
            scaling="stride",
            epochs=recipe.epochs if epochs is None else int(epochs),
            batch_size=recipe.batch_size if batch_size is None else int(batch_size),
            lr=float(lr),
            betas=(0.9, 0.999),
            weight_decay=0.0,
            schedule=recipe.schedule,
            precision=resolve_precision(device, recipe.precision if precision is None else precision),
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunConfig:
        """A ``config.json`` (or a checkpoint's ``"config"``) of this or an older version.

        Older spellings: ``"config"`` is the profile; ``"encoding": "quantized"`` with ``"grid": "heatmap"``
        is ``"quantized-heatmap"``; ``"encoding": "udp"`` is ``"unbiased"`` with ``scaling="udp"``;
        ``"grid"``, ``"rounding"`` (the encoding's row) and ``"original_size"`` are dropped; a missing
        ``"scaling"`` is ``"stride"``, a missing ``"precision"`` ``"fp32"``, a missing ``"schedule"``
        ``"constant"``. ``ValueError`` names a missing or unknown key, or a grid the encoding does not
        round on.

        >>> old = RunConfig.resolve("sh", "unbiased", "smoke").to_json()
        >>> old |= {"encoding": "quantized", "grid": "heatmap", "rounding": "nearest", "config": "smoke"}
        >>> c = RunConfig.from_json({k: v for k, v in old.items() if k != "profile"})
        >>> c.encoding, c.profile
        ('quantized-heatmap', 'smoke')
        """
        d = dict(data)
        d.pop(RECORD_KEY, None)
        old = {k: d.pop(k) for k in _OLD_KEYS if k in d}
        d.setdefault("profile", old.get("config"))
        d.setdefault("scaling", "stride")
        d.setdefault("precision", "fp32")
        d.setdefault("schedule", "constant")
        if d.get("encoding") == "quantized" and old.get("grid") == "heatmap":
            d["encoding"] = "quantized-heatmap"
        elif d.get("encoding") == "udp":
            d["encoding"], d["scaling"] = "unbiased", "udp"
        row = codecs.ENCODINGS.get(d.get("encoding"))
        if row is not None and row.grid is not None and old.get("grid") not in (None, row.grid):
            raise ValueError(f"encoding {row.name!r} rounds on the {row.grid} grid, not on {old['grid']!r}")
        measured_keys = [f.name for f in dataclasses.fields(Measured)]
        fields = {f.name for f in dataclasses.fields(cls)} - {"measured"}
        unknown = sorted(set(d) - fields - set(measured_keys))
        if unknown:
            raise ValueError(f"unknown run configuration keys {unknown}")
        missing = sorted(f.name for f in dataclasses.fields(cls) if f.name in fields and
                         f.default is dataclasses.MISSING and d.get(f.name) is None)  # fmt: skip
        if missing:
            raise ValueError(f"run configuration without {missing}")
        measured = {k: d.pop(k) for k in measured_keys if k in d}
        if measured:
            measured = Measured(**{k: measured.get(k) for k in measured_keys})
        return cls(**d, measured=measured or None)

    def to_json(self) -> dict[str, Any]:
        """The JSON form (``config.json``): every setting, then what was measured (if anything; an older
        run's unrecorded ``threads`` is left out, so its file reads back as it was written)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "measured"}
        out = {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}
        out["model_kwargs"] = dict(self.model_kwargs)
        measured = dataclasses.asdict(self.measured) if self.measured else {}
        if measured.get("threads", 0) is None:
            del measured["threads"]
        return out | measured

    @property
    def codec(self) -> codecs.Codec:
        """The run's :class:`dark.codecs.Codec`: its targets in training, its decoding in evaluation.

        The original input grid is ``heatmap_size * heatmap_stride`` (:attr:`input_size` is the
        network's, smaller when the input is downsampled).
        """
        original = tuple(round(s * self.heatmap_stride) for s in self.heatmap_size)
        return codecs.Codec(self.encoding, float(self.sigma), self.heatmap_stride, self.scaling, original,
                            self.heatmap_size)  # fmt: skip

    def build_model(self) -> nn.Module:
        """The untrained network (:data:`dark.models.MODELS`) with :attr:`model_kwargs`."""
        kwargs = dict(self.model_kwargs)
        if "modules" in kwargs:
            kwargs["modules"] = tuple(kwargs["modules"])
        return models.MODELS[self.model](**kwargs)
