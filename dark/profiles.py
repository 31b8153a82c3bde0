"""What a profile means, in one table: data sizes, model configuration, training recipe, seeds, cells.

``PROFILES[name]`` is a :class:`Profile`. Every stage reads it: the renderer (:mod:`dark.data.synth`,
how many multi-view frames per split), the models (:data:`dark.models.CONFIGS` is keyed by
``Profile.model_config``), training (:class:`Recipe`), the decoder study (:class:`DecoderStudy`) and
the book's plan (``notebooks/pipeline.yml`` expands one training per ``cell x seed`` and reads the study
sizes, the ``about`` paragraph and the recorded folder from here). Adding a profile is one row of
:data:`PROFILES`.
Profiles:

- ``smoke``: seconds; what the test suite executes end to end. Its numbers mean nothing.
- ``quick`` (``make book``): a 2-core CPU in about 20 minutes for the whole book; reduced models at half
  the input resolution, one seed per cell (more do not fit the budget), so its claim-2 verdicts are
  inconclusive by design and the book shows the recorded ``cpu`` run beside them.
- ``cpu``: the evidence a 2-core CPU gives in under 90 minutes: the quantiser study on the Stacked Hourglass
  (unbiased, the report's ``ceil`` and the DARK paper's heatmap-grid rounding), three seeds per cell,
  trained further along the validation curve. Its recorded run is ``results/cpu/``.
- ``full``: the report's setting (SH 4x128, HRNet-W32, 320x160 input, 80x40 heatmaps, Adam 2e-3, 30
  epochs) on a GPU, three seeds starting with the report's 1314.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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


@dataclass(frozen=True)
class Profile:
    """One row of the profile table (see the module docstring)."""

    name: str
    frames: Frames
    model_config: str
    recipe: Recipe
    seeds: tuple[int, ...]
    cells: tuple[tuple[str, str], ...]  # (model, encoding name of dark.codecs.ENCODINGS)
    study: DecoderStudy
    #: one paragraph the book shows about the profile (the summary, the introduction, the discussion)
    about: str
    #: ``results/<recorded>/`` receives the run's record (:mod:`dark.record`) after ``dark book``;
    #: None: the profile's runs are not recorded
    recorded: str | None = None

    def runs(self) -> list[tuple[str, str, int]]:
        """Every training of the profile: ``(model, encoding, seed)``, cells in order, seeds inside."""
        return [(m, e, s) for m, e in self.cells for s in self.seeds]


#: the rendered data of the quick and cpu profiles (the same 6,000 / 500 / 1,000 views)
_QUICK_DATA = Frames(train=1500, val=125, test=250)
_REPORT_CELLS = (("sh", "quantized"), ("sh", "unbiased"), ("hrnet", "quantized"), ("hrnet", "unbiased"))
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
        seeds=(REPORT_SEED,),
        cells=_REPORT_CELLS,
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
        seeds=(REPORT_SEED,),
        cells=_REPORT_CELLS,
        study=_STUDY,
        about=(
            "The quick profile fits a 2-core laptop CPU (about 20 minutes for the whole book): six thousand "
            "rendered depth images instead of HUMAN4D's 99 thousand, reduced Stacked Hourglass and HRNet "
            "configurations at half the input resolution, a few epochs, and one training "
            f"(seed {REPORT_SEED}) per model and encoding, because more do not fit the budget (each training "
            "chapter prints its exact configuration). With one training per cell, a comparison between "
            "trainings cannot be decided: the recorded CPU evidence run, shown in its own chapter, has three "
            "seeds per cell."
        ),
    ),
    "cpu": Profile(
        name="cpu",
        frames=_QUICK_DATA,
        model_config="quick",
        recipe=Recipe(epochs=8, batch_size=16, input_scale=2, schedule="cosine"),
        seeds=(REPORT_SEED, 2, 3),
        cells=(("sh", "unbiased"), ("sh", "ceil"), ("sh", "quantized-heatmap")),
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
            "The cpu profile is the evidence a 2-core CPU can give in under 90 minutes: the quantiser "
            "study on the reduced Stacked Hourglass (unbiased targets, the report's round-up quantiser on "
            "the input grid, and the DARK paper's rounding on the heatmap grid), three seeds per encoding, "
            "trained further along the validation curve than the quick profile. Its recorded run is "
            "results/cpu."
        ),
        recorded="cpu",
    ),
    "full": Profile(
        name="full",
        frames=Frames(train=None, val=None, test=None),
        model_config="full",
        recipe=Recipe(epochs=30, batch_size=32, input_scale=1, schedule="constant"),
        seeds=(REPORT_SEED, 2, 3),
        cells=_REPORT_CELLS,
        study=replace(_STUDY, noise_levels=(0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2), trials=20000),
        about=(
            "The full profile is the report's configuration (4-stack Stacked Hourglass with 128 features, "
            "HRNet-W32, 320x160 inputs, 80x40 heatmaps, Adam 2e-3, 30 epochs), three seeds starting with the "
            f"report's {REPORT_SEED}, and needs a GPU; with `--data-root` it trains and tests on the real "
            "HUMAN4D dataset."
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
