"""What a profile means, in one table: data sizes, model configuration, training recipe, seeds, cells.

``PROFILES[name]`` is a :class:`Profile`. Every stage reads it: the renderer (:mod:`dark.data.synth`,
how many multi-view frames per split), the models (:data:`dark.models.CONFIGS` is keyed by
``Profile.model_config``), training (:class:`Recipe`), the decoder study (:class:`DecoderStudy`) and
the book's plan (``notebooks/pipeline.yml`` expands one training per cell and seed of the cell, and reads
the study sizes, the ``about`` paragraph and the recorded folder from here). Adding a profile is one row
of :data:`PROFILES`; adding seeds or a cell to a profile is an edit of its ``cells``, and a recorded
profile then trains only what its record lacks (:mod:`dark.record.run_store`).
Profiles:

- ``smoke``: seconds; what the test suite executes end to end. Its numbers mean nothing.
- ``quick`` (``make book``): a 2-core CPU in about 20 minutes for the whole book; reduced models at half
  the input resolution, one seed per cell (more do not fit the budget), so its claim-2 verdicts are
  inconclusive by design and the book shows the recorded ``cpu`` run beside them.
- ``cpu``: the evidence a 2-core CPU gives, grown over several sessions in its record ``results/cpu/``
  (about 8 minutes per quick-SH training with bf16): (a) Stacked Hourglass unbiased vs the report's
  ``ceil`` with 8 shared seeds (claim 2's paired endpoint), (b) HRNet unbiased vs ``ceil`` with 3, (c) the
  two readings of "w/ quant" on the Stacked Hourglass (nearest on the input grid; the DARK paper's
  heatmap-grid rounding), 3 seeds each, (d) random heatmap-grid rounding, 3 seeds; then issue 28's
  claims along the regime: (1) the A/A ``placebo`` (4 seeds), (2) ``ceil`` at batch 24 (8), (3) the pair
  at input scale 4 (8), (4) the pair in fp32 (4), (5) HRNet's pair on 4 more seeds, (6) the pair at
  input scale 1 (4).
- ``full``: the report's setting (SH 4x128, HRNet-W32, 320x160 input, 80x40 heatmaps, Adam 2e-3, 30
  epochs) on a GPU, three seeds starting with the report's 1314. Hours per training (30 epochs over every
  frame), so no lent GPU session fits one: it is recorded only where ``--record DIR`` says.
- ``gpu``: what the GPU check (``benchmarks/gpu_check.py``) trains, a few trainings per lent GPU session,
  into ``results/gpu/``: ``full``'s models, input and batch on the cpu profile's rendered data, 8 cosine
  epochs as the cpu profile, claim 2's pair on each model, seed 1314 on both first, then 2 and 3. About
  2-3 GPU minutes a training, estimated (21.4 GFLOP a training view for either model, 48,000 views, eager
  bf16 steps of 32 launch-bound at 30-60 ms, 40 s for the rest), so a 600-s command trains a pair. A row
  of its own, not ``full`` with a time budget: a fixed recipe keeps a training's settings, and so its
  record digest, the same in every session (a budget fits the epochs to the machine, and runs of two
  sessions would not pair); ``--max-trainings N`` bounds a session, as for the cpu record.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

#: the report's seed; every profile's seed list starts with it
REPORT_SEED = 1314


@dataclass(frozen=True)
class Recipe:
    """How a profile trains.

    Attributes:
        epochs: passes over the training split.
        batch_size: global batch (over all processes).
        input_scale: the network sees the 160x320 depth map downsampled by this factor (area average);
            the heatmap stride in original input px is ``4 * input_scale``.
        schedule: ``"constant"`` (the report's) or ``"cosine"`` (half cosine to 0 over the run).
        precision: ``"fp32"``, ``"bf16"`` (autocast) or ``"auto"`` (bf16 autocast where the device runs
            it fast: a CUDA GPU, or a CPU with AVX512-BF16/AMX; fp32 elsewhere).
    """

    epochs: int
    batch_size: int
    input_scale: int
    schedule: str
    precision: str = "auto"


@dataclass(frozen=True)
class Frames:
    """Multi-view frames per split of the rendered dataset (``None``: every frame); 4 views each."""

    train: int | None
    val: int | None
    test: int | None
    frames_per_shard: int = 128


@dataclass(frozen=True)
class DecoderStudy:
    """How large a profile's study of the decoders on synthetic heatmaps is (``notebooks/01_decoders.md``).

    Attributes:
        sigmas: Gaussian widths, heatmap px.
        noise_levels: per-pixel noise std (the peak is 1).
        trials: heatmaps per (sigma, noise) setting.
        threshold_noise_levels: noise levels of the low-SNR study (sigma 1).
        kernel_sizes: DARK's blur sizes to compare, heatmap px.
        bench_repeats: timed calls per decoder in the cost measurement.
    """

    sigmas: tuple[float, ...]
    noise_levels: tuple[float, ...]
    trials: int
    threshold_noise_levels: tuple[float, ...]
    kernel_sizes: tuple[int, ...]
    bench_repeats: int


class Training(NamedTuple):
    """One training of a profile: model, encoding, seed and the cell's options (``None``: the recipe's)."""

    model: str
    encoding: str
    seed: int
    batch_size: int | None = None
    input_scale: int | None = None
    precision: str | None = None

    @property
    def name(self) -> str:
        """The run directory's name (:func:`dark.experiment.runs.run_name`'s spelling): the cell's options
        that are set, in the order batch size (``-b24``), input scale (``-x4``), precision (``-fp32``),
        between the encoding and the seed; a training without options keeps its plain name.

        >>> Training("sh", "quantized", 2, batch_size=24).name
        'sh-quantized-b24-s2'
        >>> Training("sh", "unbiased", 2, input_scale=4).name
        'sh-unbiased-x4-s2'
        >>> Training("sh", "ceil", 2, precision="fp32").name
        'sh-ceil-fp32-s2'
        >>> Training("sh", "ceil", 1314).name
        'sh-ceil-s1314'
        """
        options = "" if self.batch_size is None else f"-b{int(self.batch_size)}"
        options += "" if self.input_scale is None else f"-x{int(self.input_scale)}"
        options += "" if self.precision is None else f"-{self.precision}"
        return f"{self.model}-{self.encoding}{options}-s{int(self.seed)}"


def run_name(
    model: str,
    encoding: str,
    seed: int,
    batch_size: int | None = None,
    input_scale: int | None = None,
    precision: str | None = None,
) -> str:
    """The directory name of one training (:attr:`Training.name`): a cell's options
    (``batch_size``, ``input_scale``, ``precision``; ``None``: the recipe's) are part of it.

    >>> run_name("sh", "ceil", 3), run_name("sh", "quantized", 2, 24), run_name("sh", "ceil", 2, None, 4)
    ('sh-ceil-s3', 'sh-quantized-b24-s2', 'sh-ceil-x4-s2')
    """
    return Training(model, encoding, int(seed), batch_size, input_scale, precision).name


@dataclass(frozen=True)
class Cell:
    """One model x encoding of a profile, with its own seeds and options.

    Attributes:
        model: a name of :data:`dark.models.MODELS`.
        encoding: a name of :data:`dark.codecs.ENCODINGS`.
        seeds: its trainings' seeds, :data:`REPORT_SEED` first (a cell that adds seeds to an earlier cell of
            the same model, encoding and options goes on from its seeds); cells pair by seed.
        batch_size: ``None``: the recipe's; e.g. 24, the report's Stacked Hourglass batch on quantised
            targets (``moai``'s configs; 16 on unbiased ones and for HRNet).
        input_scale: ``None``: the recipe's; else the 160x320 depth map is downsampled by this factor
            (:attr:`Recipe.input_scale`: 1 gives 160x320 inputs and 40x80 heatmaps, 2 gives 80x160 and 20x40,
            4 gives 40x80 and 10x20; the quick models accept all three).
        precision: ``None``: the recipe's (resolved as the record's); else ``"fp32"`` or ``"bf16"``.

    Each option that is set is part of the run's name (:attr:`Training.name`) and, through its
    :class:`dark.experiment.runs.RunConfig` (batch size, input and heatmap sizes and stride, precision), of
    its digest.
    """

    model: str
    encoding: str
    seeds: tuple[int, ...]
    batch_size: int | None = None
    input_scale: int | None = None
    precision: str | None = None

    def __post_init__(self) -> None:
        if self.input_scale not in (None, 1, 2, 4):
            raise ValueError(f"input_scale must be 1, 2, 4 or None (the recipe's), got {self.input_scale!r}")
        if self.precision not in (None, "fp32", "bf16"):
            raise ValueError(
                f"precision must be 'fp32', 'bf16' or None (the recipe's), got {self.precision!r}"
            )

    def runs(self) -> list[Training]:
        return [
            Training(self.model, self.encoding, int(s), self.batch_size, self.input_scale, self.precision)
            for s in self.seeds
        ]


def cells(pairs: tuple[tuple[str, str], ...], seeds: tuple[int, ...], **options) -> tuple[Cell, ...]:
    """``Cell(model, encoding, seeds, **options)`` for every ``(model, encoding)`` of ``pairs``."""
    return tuple(Cell(m, e, tuple(seeds), **options) for m, e in pairs)


@dataclass(frozen=True)
class Profile:
    """One row of the profile table (see the module docstring)."""

    name: str
    frames: Frames
    model_config: str
    recipe: Recipe
    #: the trainings, cell by cell (each with its seeds and options)
    cells: tuple[Cell, ...]
    study: DecoderStudy
    #: one paragraph the book shows about the profile (the summary, the introduction, the discussion)
    about: str
    #: ``results/<recorded>/`` receives the run's record (:mod:`dark.record.record`) after ``dark book``;
    #: None: the profile's runs are not recorded
    recorded: str | None = None

    @property
    def seeds(self) -> tuple[int, ...]:
        """Every seed of the profile's cells, in order of first use."""
        return tuple(dict.fromkeys(s for c in self.cells for s in c.seeds))

    def runs(self) -> list[Training]:
        """Every training of the profile, in the order the book trains them: cells in order, except that
        consecutive cells of one model with the same seeds and options train seed by seed
        (``sh-unbiased-s1314``, ``sh-ceil-s1314``, ``sh-unbiased-s2``, ...), so a build stopped part-way
        leaves complete pairs, and a group's cells are complete before the next group's start (the cpu
        profile grows (a), then (b), then (c) with (d), then issue 28's regime cells one after another).

        >>> [t.name for t in get("cpu").runs()][:3]
        ['sh-unbiased-s1314', 'sh-ceil-s1314', 'sh-unbiased-s2']
        """

        def key(c: Cell) -> tuple:
            return c.model, c.seeds, c.batch_size, c.input_scale, c.precision

        groups: list[list[Cell]] = []
        for cell in self.cells:
            if groups and key(groups[-1][0]) == key(cell):
                groups[-1].append(cell)
            else:
                groups.append([cell])
        return [t for g in groups for i in range(len(g[0].seeds)) for t in (c.runs()[i] for c in g)]


#: the rendered data of the quick and cpu profiles (the same 6,000 / 500 / 1,000 views)
_QUICK_DATA = Frames(train=1500, val=125, test=250)
_REPORT_CELLS = (("sh", "quantized"), ("sh", "unbiased"), ("hrnet", "quantized"), ("hrnet", "unbiased"))
#: the cpu profile's seeds: 8 for the decisive pair, 3 elsewhere (4 in issue 28's regime cells)
_SEEDS_8 = (REPORT_SEED, *range(2, 9))
_SEEDS_3 = (REPORT_SEED, 2, 3)
_SEEDS_4 = (REPORT_SEED, 2, 3, 4)
#: claim 2's pair, unbiased vs the report code's round-up, on each model
_SH_PAIR = (("sh", "unbiased"), ("sh", "ceil"))
_HRNET_PAIR = (("hrnet", "unbiased"), ("hrnet", "ceil"))
#: the decoder study of the quick book (the full one has more noise levels and ten times the trials)
_STUDY = DecoderStudy(
    sigmas=(1.0, 1.5, 2.0, 3.0),
    noise_levels=(0.0, 0.02, 0.05, 0.1, 0.2),
    trials=2000,
    threshold_noise_levels=(0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4),
    kernel_sizes=(3, 5, 7, 9, 11, 13, 15, 17, 21),
    bench_repeats=5,
)

PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        frames=Frames(train=16, val=8, test=8, frames_per_shard=8),
        model_config="smoke",
        recipe=Recipe(epochs=1, batch_size=16, input_scale=2, schedule="constant", precision="fp32"),
        cells=cells(_REPORT_CELLS, (REPORT_SEED,)),
        study=DecoderStudy(
            sigmas=(2.0,),
            noise_levels=(0.0, 0.05),
            trials=64,
            threshold_noise_levels=(0.1, 0.3),
            kernel_sizes=(3, 11),
            bench_repeats=1,
        ),
        about=(
            "The smoke profile checks that every piece runs, not what the numbers say: a few dozen rendered "
            "images, the smallest model configurations, one seed and one epoch of training. Its accuracies "
            "and verdicts are meaningless; the whole book takes a few minutes on a CPU."
        ),
    ),
    "quick": Profile(
        name="quick",
        frames=_QUICK_DATA,
        model_config="quick",
        recipe=Recipe(epochs=3, batch_size=16, input_scale=2, schedule="cosine"),
        cells=cells(_REPORT_CELLS, (REPORT_SEED,)),
        study=_STUDY,
        about=(
            "The quick profile fits a 2-core laptop CPU (about 20 minutes for the whole book): six thousand "
            "rendered depth images instead of HUMAN4D's 99 thousand, reduced Stacked Hourglass and HRNet "
            "configurations at half the input resolution, a few epochs, and one training "
            f"(seed {REPORT_SEED}) per model and encoding, because more do not fit the budget (each training "
            "chapter prints its exact configuration). With one training per cell, a comparison between "
            "trainings cannot be decided: the recorded CPU evidence run, shown in its own chapter, has three "
            "to eight seeds per cell."
        ),
    ),
    "cpu": Profile(
        name="cpu",
        frames=_QUICK_DATA,
        model_config="quick",
        recipe=Recipe(epochs=8, batch_size=16, input_scale=2, schedule="cosine"),
        cells=(
            # (a) claim 2's decisive pair, paired by seed
            *cells((("sh", "unbiased"), ("sh", "ceil")), _SEEDS_8),
            # (b) the same pair on HRNet
            *cells((("hrnet", "unbiased"), ("hrnet", "ceil")), _SEEDS_3),
            # (c) the two readings of "w/ quant": nearest on the input grid, the DARK paper's heatmap grid
            *cells((("sh", "quantized"), ("sh", "quantized-heatmap")), _SEEDS_3),
            # (d) random rounding on the heatmap grid
            Cell("sh", "random-heatmap", _SEEDS_3),
            # issue 28, the claims along the regime; each cell pairs by seed with (a) or with its partner:
            # (1) the A/A placebo (quantised path, 1/64 px grid) against (a)'s unbiased runs
            Cell("sh", "placebo", _SEEDS_4),
            # (2) ceil at the report's batch for quantised targets (24; unbiased stays at 16, as in (a))
            Cell("sh", "ceil", _SEEDS_8, batch_size=24),
            # (3) the pair at a quarter of the input resolution (40x80 input, 10x20 heatmaps, stride 16)
            *cells(_SH_PAIR, _SEEDS_8, input_scale=4),
            # (4) the pair without bf16 autocast
            *cells(_SH_PAIR, _SEEDS_4, precision="fp32"),
            # (5) more HRNet seeds for (b)
            *cells(_HRNET_PAIR, (4, 5, 6, 7)),
            # (6) the pair at the full input resolution (160x320 input, 40x80 heatmaps, stride 4)
            *cells(_SH_PAIR, _SEEDS_4, input_scale=1),
        ),
        # the cpu profile spends its time on training: a small decoder study (the quick book has the full one)
        study=DecoderStudy(
            sigmas=(1.0, 2.0),
            noise_levels=(0.0, 0.05, 0.2),
            trials=500,
            threshold_noise_levels=(0.1, 0.3),
            kernel_sizes=(3, 11),
            bench_repeats=1,
        ),
        about=(
            "The cpu profile is the evidence a 2-core CPU can give, recorded run by run in results/cpu and "
            "grown over several sessions: the reduced Stacked Hourglass on unbiased targets against the "
            "report's round-up quantiser with eight shared seeds (the paired comparison that decides "
            "claim 2), the same pair on the reduced HRNet with three, both readings of the report's "
            "quantisation (nearest on the input grid; the DARK paper's rounding on the heatmap grid) and "
            "random rounding with three seeds each, trained further along the validation curve than the "
            "quick profile. It then follows claim 2 along the training regime: an A/A placebo (targets "
            "rounded to 1/64 px, so nothing measurable changes) against the unbiased runs, the round-up "
            "targets at the report's batch of 24, the pair at a quarter and at the full input resolution, "
            "the pair without bf16, and four more HRNet seeds. The record holds the first trainings of "
            "this plan, in order, and grows by a few trainings each session; the chapter says how many "
            "are recorded and how many remain."
        ),
        recorded="cpu",
    ),
    "full": Profile(
        name="full",
        frames=Frames(train=None, val=None, test=None),
        model_config="full",
        recipe=Recipe(epochs=30, batch_size=32, input_scale=1, schedule="constant"),
        cells=cells(_REPORT_CELLS, _SEEDS_3),
        study=replace(_STUDY, noise_levels=(0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2), trials=20000),
        about=(
            "The full profile is the report's configuration (4-stack Stacked Hourglass with 128 features, "
            "HRNet-W32, 320x160 inputs, 80x40 heatmaps, Adam 2e-3, 30 epochs), three seeds starting with the "
            f"report's {REPORT_SEED}, and needs a GPU; with `--data-root` it trains and tests on the real "
            "HUMAN4D dataset."
        ),
    ),
    "gpu": Profile(
        name="gpu",
        frames=_QUICK_DATA,
        model_config="full",
        recipe=Recipe(epochs=8, batch_size=32, input_scale=1, schedule="cosine"),
        # the report's seed on both models first (what the report itself trained), then more seeds
        cells=(
            *cells(_SH_PAIR, (REPORT_SEED,)),
            *cells(_HRNET_PAIR, (REPORT_SEED,)),
            *cells(_SH_PAIR, (2, 3)),
            *cells(_HRNET_PAIR, (2, 3)),
        ),
        study=_STUDY,
        about=(
            "The gpu profile is what a lent GPU gives, a few trainings per session, recorded run by run in "
            "results/gpu: the report's models (4-stack Stacked Hourglass with 128 features, HRNet-W32) at "
            "the report's input (320x160, 80x40 heatmaps), trained 8 epochs on the six thousand rendered "
            "depth images of the cpu profile, unbiased targets against the report's round-up quantiser on "
            f"each model, seed {REPORT_SEED} on both models first, then seeds 2 and 3. The record holds the "
            "first trainings of this plan, in order; the chapter says how many are recorded and how many "
            "remain."
        ),
        recorded="gpu",
    ),
}


def get(name: str) -> Profile:
    """The profile called ``name``; ``ValueError`` naming the known ones otherwise.

    >>> get("quick").recipe.input_scale
    2
    """
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; expected one of {sorted(PROFILES)}")
    return PROFILES[name]
