"""Speaker backends: real speech (VoxCeleb1 clips), the level rule, the seed-tts-eval SIM model's
checkpoint layout, and batching.

resemblyzer is the only speaker model with real weights here: it must rank same-speaker pairs
above different-speaker pairs on the VoxCeleb clips. The WavLM backends run on random stand-ins
(tiny transformers x-vector; small WavLM + full ECAPA head in the exact checkpoint layout), which
cannot tell speakers apart: for them the tests check mechanics only.
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from spatialeval.io.audio import load_audio
from spatialeval.metrics.sim import downmix_resample, speaker_similarity
from spatialeval.models.registry import SPEAKER_BACKENDS
from spatialeval.models.speaker import normalise_level
from spatialeval.pipeline.config import EvalConfig
from spatialeval.pipeline.stages.base import StageUnavailable
from spatialeval.pipeline.stages.sim import SIMSettings as SIMConfig

DATA = Path(__file__).parent / "data"
VOX = sorted((DATA / "voxceleb").glob("*.flac"))
SPEECH = DATA / "speech"


def clip16k(path: Path) -> np.ndarray:
    clip = load_audio(path)
    return downmix_resample(clip.samples, clip.sample_rate, 16000)


def speaker_of(path: Path) -> str:
    return path.stem.split("__")[0]


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """The stand-ins are small: one intra-op thread is fastest, and on a shared CPU two threads can be
    twenty times slower than one."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def vox() -> dict[str, np.ndarray]:
    return {path.stem: clip16k(path) for path in VOX}


def similarity_table(encoder, clips: dict[str, np.ndarray]) -> dict[tuple[str, str], float]:
    embeddings = dict(zip(clips, encoder.embed_batch(list(clips.values()))))
    return {(a, b): speaker_similarity(embeddings[a], embeddings[b]) for a, b in itertools.combinations(clips, 2)}


def test_voxceleb_clips_are_four_speakers_twice():
    assert len(VOX) == 8 and (DATA / "voxceleb" / "README.md").is_file()
    speakers = sorted({speaker_of(p) for p in VOX})
    assert speakers == ["David_Faustino", "Josh_Gad", "Lea_Thompson", "Zulay_Henao"]
    assert sum(p.stat().st_size for p in VOX) < 2_000_000
    for path in VOX:
        clip = load_audio(path)
        assert clip.sample_rate == 16000 and clip.samples.shape[1] == 1 and 4.0 <= clip.samples.shape[0] / 16000 <= 6.0


# ---- the level rule -------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(gain_db=st.floats(-60, 20), seed=st.integers(0, 2**16))
def test_normalise_level_removes_any_gain(gain_db, seed):
    x = np.random.default_rng(seed).standard_normal(800) * 0.01
    y = normalise_level(x * 10 ** (gain_db / 20))
    assert np.allclose(y, normalise_level(x), atol=1e-12)
    assert 20 * np.log10(np.sqrt(np.mean(normalise_level(x) ** 2))) == pytest.approx(-30.0, abs=1e-9)


def test_normalise_level_rejects_silence_and_stereo():
    with pytest.raises(ValueError, match="digital silence"):
        normalise_level(np.zeros(100))
    with pytest.raises(ValueError, match="mono"):
        normalise_level(np.ones((100, 2)))


# ---- resemblyzer: real weights ---------------------------------------------------------------


@pytest.fixture(scope="module")
def resemblyzer():
    pytest.importorskip("resemblyzer")
    return SPEAKER_BACKENDS.build(SIMConfig())


@pytest.mark.slow
def test_resemblyzer_same_speaker_beats_different_speaker_on_voxceleb(resemblyzer, vox):
    table = similarity_table(resemblyzer, vox)
    same = {pair: s for pair, s in table.items() if pair[0].split("__")[0] == pair[1].split("__")[0]}
    different = {pair: s for pair, s in table.items() if pair not in same}
    assert len(same) == 4 and len(different) == 24
    # measured on this CPU (resemblyzer 0.1.4, level rule applied): same-speaker 0.713-0.784 (mean 0.757),
    # different-speaker 0.511-0.750 (mean 0.605); every clip's nearest neighbour is its own speaker.
    assert np.mean(list(same.values())) > np.mean(list(different.values())) + 0.1
    for name in vox:  # nearest-neighbour identification is right for every clip
        others = {(b if a == name else a): s for (a, b), s in table.items() if name in (a, b)}
        best = max(others, key=others.get)
        assert best.split("__")[0] == name.split("__")[0], (name, best, others)
    for (a, b), s in same.items():  # each speaker's pair beats that speaker's average cross-speaker SIM
        cross = [v for pair, v in different.items() if a in pair or b in pair]
        assert s > np.mean(cross) + 0.05, (a, b, s, np.mean(cross))


@pytest.mark.slow
@pytest.mark.parametrize("gain_db", [-6.0, -20.0, 6.0])
def test_resemblyzer_sim_does_not_depend_on_level(resemblyzer, vox, gain_db):
    # Before the level rule (volume only raised to -30 dBFS) these clips lost 0.03-0.13 of SIM
    # to a -6 / -20 dB gain; now the embedding input is the same up to rounding.
    for clip in (clip16k(SPEECH / "en_rms_glue.wav"), vox["Josh_Gad__RFyw7V3SOnQ_0000001"]):
        reference = resemblyzer.embed(clip)
        assert speaker_similarity(resemblyzer.embed(clip * 10 ** (gain_db / 20)), reference) > 0.9999


# ---- wavlm (transformers WavLMForXVector) on a tiny random model --------------------------------


@pytest.fixture(scope="module")
def xvector_folders(tmp_path_factory):
    pytest.importorskip("transformers")
    from spatialeval.models.standins.huggingface import write_tiny_wavlm_xvector

    root = tmp_path_factory.mktemp("xvector")
    return {norm: write_tiny_wavlm_xvector(root / norm, seed=1, feat_extract_norm=norm) for norm in ("layer", "group")}


def test_wavlm_xvector_batches_equal_one_by_one(xvector_folders, vox):
    clips = [vox[name][:n] for name, n in zip(sorted(vox)[:4], (8000, 20000, 28000, 12000))]
    for norm, folder in xvector_folders.items():
        encoder = SPEAKER_BACKENDS.build(SIMConfig(backend="wavlm", model_path=str(folder), batch_size=3))
        batch = encoder.embed_batch(clips)
        single = [encoder.embed(c) for c in clips]
        assert all(b.shape == (16,) and np.allclose(b, s, atol=1e-5) for b, s in zip(batch, single)), norm
        assert ("attention mask" in encoder.describe()["batching"]) == (norm == "layer")
        # the level rule applies here too
        assert np.allclose(encoder.embed(0.05 * clips[1]), single[1], atol=1e-5)
        assert speaker_similarity(single[0], single[0]) == pytest.approx(1.0)


# ---- wavlm-ecapa: seed-tts-eval's SIM model ---------------------------------------------------


def test_full_size_checkpoint_layout_maps_onto_wavlm_large_and_the_head():
    """Every tensor of the real file's layout (from the public model definition) has a home of the
    same shape in transformers' WavLMModel (WavLM-Large config) or the ECAPA head, and vice versa.
    Built on the meta device: no memory, no forward pass."""
    pytest.importorskip("transformers")
    from spatialeval.models.standins.wavlm_ecapa import checkpoint_shapes
    from spatialeval.models.wavlm_ecapa import build_modules, infer_architecture, split_state_dict

    shapes = checkpoint_shapes(small=False)
    assert len(shapes) == 710  # 488 WavLM tensors + 222 head tensors
    with torch.device("meta"):
        state = {key: torch.empty(shape) for key, shape in shapes.items()}
        arch = infer_architecture(state)
        backbone, head = build_modules(arch)
    assert arch.is_wavlm_large and arch.summary() == (
        "WavLM 24 layers x 1024 (ffn 4096, 16 heads) + ECAPA-TDNN 512 channels -> 256-d"
    )
    targets = {**backbone.state_dict(), **head.state_dict()}
    mapped_backbone, mapped_head = split_state_dict(state, backbone.state_dict().keys(), head.state_dict().keys())
    assert len(mapped_backbone) + len(mapped_head) == len(targets) == len(shapes)
    for key, tensor in {**mapped_backbone, **mapped_head}.items():
        assert tuple(tensor.shape) == tuple(targets[key].shape), key
    assert sum(t.numel() for t in targets.values() if t.is_floating_point()) > 300_000_000


@pytest.fixture(scope="module")
def standin_checkpoint(tmp_path_factory):
    pytest.importorskip("transformers")
    from spatialeval.models.standins.wavlm_ecapa import write_sv_test_checkpoint

    return write_sv_test_checkpoint(tmp_path_factory.mktemp("sv") / "wavlm_ecapa_small.pth", seed=0, small=True)


@pytest.fixture(scope="module")
def ecapa(standin_checkpoint):
    return SPEAKER_BACKENDS.build(SIMConfig(backend="wavlm-ecapa", model_path=str(standin_checkpoint), batch_size=3))


def test_wavlm_ecapa_standin_loads_and_describes_itself(ecapa, standin_checkpoint):
    from spatialeval.models.checkpoint import checkpoint_sha256

    info = ecapa.describe()
    assert info["backend"] == "wavlm-ecapa" and info["checkpoint_sha256"] == checkpoint_sha256(standin_checkpoint)
    assert info["model"].startswith("NOT WavLM-Large") and "2 layers x 64" in info["architecture"]
    assert ecapa.sample_rate == 16000 and "cuda" in ecapa.devices


def test_wavlm_ecapa_mechanics_on_voxceleb(ecapa, vox):
    """Random weights: only mechanics. Batch = one by one, deterministic, level-free, cosine in range."""
    names = sorted(vox)
    clips = [vox[name][: 16000 + 2000 * i] for i, name in enumerate(names)]  # 1.0-1.9 s: padding in every batch
    batch = ecapa.embed_batch(clips)
    assert all(e.shape == (256,) and e.dtype == np.float64 and np.all(np.isfinite(e)) for e in batch)
    for clip, embedding in zip(clips[:2], batch[:2]):
        assert np.allclose(ecapa.embed(clip), embedding, atol=1e-5)
        assert np.allclose(ecapa.embed(0.1 * clip), embedding, atol=1e-5)
    assert np.array_equal(ecapa.embed_batch(clips[:3]), batch[:3])
    cosines = [speaker_similarity(a, b) for a, b in itertools.combinations(batch, 2)]
    assert all(-1.0 <= s <= 1.0 for s in cosines) and speaker_similarity(batch[0], batch[0]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="shorter than WavLM's 400-sample receptive field"):
        ecapa.embed(np.ones(399))


def test_wavlm_ecapa_strict_loading(tmp_path, standin_checkpoint):
    from spatialeval.models.standins.wavlm_ecapa import build_sv_test_state_dict

    state = build_sv_test_state_dict(seed=0, small=True)

    def load(payload, name):
        path = tmp_path / name
        torch.save(payload, path)
        return SPEAKER_BACKENDS.build(SIMConfig(backend="wavlm-ecapa", model_path=str(path)))

    # the released file's training-only loss head is tolerated
    extra = dict(state, **{"loss_calculator.projection.weight": torch.zeros(10, 256)})
    assert load({"model": extra}, "extra.pth").describe()["backend"] == "wavlm-ecapa"
    broken = {k: v for k, v in state.items() if k != "layer2.SE_Connect.linear1.bias"}
    broken["feature_extract.model.encoder.layers.0.self_attn.bogus.weight"] = torch.zeros(1)
    with pytest.raises(
        StageUnavailable,
        match=r"missing \['layer2.SE_Connect.linear1.bias'\].*unexpected "
        r"\['feature_extract.model.encoder.layers.0.self_attn.bogus.weight'\]",
    ):
        load({"model": broken}, "broken.pth")
    wrong = dict(state, **{"linear.bias": torch.zeros(255)})
    with pytest.raises(StageUnavailable, match="tensor shapes do not match"):
        load({"model": wrong}, "wrong.pth")

    class Evil:
        def __reduce__(self):
            return (print, ("pickled code ran",))

    with pytest.raises(StageUnavailable, match="cannot load as a weights-only torch checkpoint"):
        load({"model": state, "extra": Evil()}, "evil.pth")
    with pytest.raises(StageUnavailable, match="needs its checkpoint file: download wavlm_large_finetune.pth"):
        SPEAKER_BACKENDS.build(SIMConfig(backend="wavlm-ecapa"))
    with pytest.raises(StageUnavailable, match="does not exist"):
        SPEAKER_BACKENDS.build(SIMConfig(backend="wavlm-ecapa", model_path=str(tmp_path / "absent.pth")))


def test_sim_stage_batches_like_one_by_one(ecapa):
    from spatialeval.io.pairing import Pair
    from spatialeval.pipeline.stages.base import LoadedPair
    from spatialeval.pipeline.stages.sim import SIMStage

    def item(gt: str, infer: str) -> LoadedPair:  # the first second of each clip keeps the test quick
        pair = Pair(id=infer, gt=str(SPEECH / f"{gt}.wav"), gen=str(SPEECH / f"{infer}.wav"))
        first_second = [
            dataclasses.replace(c, samples=c.samples[: c.sample_rate]) for c in map(load_audio, (pair.gt, pair.gen))
        ]
        return LoadedPair(pair, *first_second)

    names = [("en_rms_glue", "en_rms_chicken"), ("en_rms_glue", "en_slt_well"), ("en_slt_well", "en_rms_glue_binaural")]
    stage = SIMStage(EvalConfig())
    stage._encoder = ecapa
    batched = stage.compute_batch([item(g, i) for g, i in names])
    single = [stage.compute_one(item(g, i)) for g, i in names]
    assert [r["sim"] for r in batched] == pytest.approx([r["sim"] for r in single], abs=1e-6)


# ---- the ECAPA head's pieces against plain numpy -----------------------------------------------


def test_attentive_stats_pool_and_layer_mix_match_numpy():
    from spatialeval.models.ecapa_tdnn import AttentiveStatsPool, ECAPAHead

    torch.manual_seed(0)
    pool = AttentiveStatsPool(6, attention_channels=4).eval()
    x = torch.randn(1, 6, 11)
    w1, b1 = pool.linear1.weight[:, :, 0].detach().numpy(), pool.linear1.bias.detach().numpy()
    w2, b2 = pool.linear2.weight[:, :, 0].detach().numpy(), pool.linear2.bias.detach().numpy()
    h = x[0].numpy()
    logits = w2 @ np.tanh(w1 @ h + b1[:, None]) + b2[:, None]
    alpha = np.exp(logits - logits.max(axis=1, keepdims=True))
    alpha /= alpha.sum(axis=1, keepdims=True)
    mean = (alpha * h).sum(axis=1)
    std = np.sqrt(np.maximum((alpha * h * h).sum(axis=1) - mean**2, 1e-9))
    assert np.allclose(pool(x)[0].detach().numpy(), np.concatenate([mean, std]), atol=1e-5)

    head = ECAPAHead(feat_dim=8, num_hidden_states=3, channels=16, emb_dim=4, pooled_channels=24).eval()
    with torch.no_grad():
        head.feature_weight.copy_(torch.tensor([0.5, -1.0, 2.0]))
    states = torch.randn(3, 20, 8)
    weights = np.exp([0.5, -1.0, 2.0]) / np.exp([0.5, -1.0, 2.0]).sum()
    mixed = np.einsum("l,ltd->dt", weights, states.numpy()) + 1e-6
    expected = (mixed - mixed.mean(axis=1, keepdims=True)) / np.sqrt(mixed.var(axis=1, keepdims=True) + 1e-5)
    assert np.allclose(head.mix_layers(states)[0].detach().numpy(), expected, atol=1e-4)
    assert head(states).shape == (4,)


def test_backend_registry_and_messages(tmp_path):
    assert SPEAKER_BACKENDS.names() == ["resemblyzer", "wavlm", "wavlm-ecapa"]
    with pytest.raises(StageUnavailable, match="weights shipped in its wheel"):
        SPEAKER_BACKENDS.build(SIMConfig(backend="resemblyzer", model_path=str(tmp_path)))
    # resemblyzer runs on the CPU only: asked for cuda, the registry builds it on the CPU.
    assert SPEAKER_BACKENDS.build(SIMConfig(), device="cuda")._device == "cpu"


# ---- issue 16 item 1: an embedding depends on its utterance alone ------------------------------


def _history() -> list[np.ndarray]:
    t = np.arange(8000) / 16000
    return [0.5 * np.sin(2 * np.pi * 440 * t), 0.1 * np.random.default_rng(3).standard_normal(8000), np.zeros(8000)]


def assert_history_free(encoder, x: np.ndarray, other: np.ndarray) -> None:
    """X alone and after a tone / noise / silence (repeated computation: bit-equal); X in the same
    batch before and after them (bit-equal); batched vs. one by one (another path: float32 tolerance)."""
    from spatialeval.errors import NoSpeech

    alone = encoder.embed(x)
    batch = encoder.embed_batch([other, x])
    for before in _history():
        try:
            encoder.embed(before)
        except NoSpeech:  # silence never reaches a model; still a call with nothing to embed
            pass
        assert np.array_equal(encoder.embed(x), alone)
    assert all(np.array_equal(a, b) for a, b in zip(encoder.embed_batch([other, x]), batch))
    assert np.allclose(batch[1], alone, rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_resemblyzer_embedding_does_not_depend_on_history(resemblyzer, vox):
    names = sorted(vox)
    assert_history_free(resemblyzer, vox[names[0]][:32000], vox[names[2]][:24000])


def test_wavlm_embeddings_do_not_depend_on_history(xvector_folders, vox):
    names = sorted(vox)
    for folder in xvector_folders.values():
        encoder = SPEAKER_BACKENDS.build(SIMConfig(backend="wavlm", model_path=str(folder), batch_size=2))
        assert_history_free(encoder, vox[names[0]][:16000], vox[names[2]][:12000])


def test_wavlm_ecapa_embedding_does_not_depend_on_history(ecapa, vox):
    names = sorted(vox)
    assert_history_free(ecapa, vox[names[0]][:16000], vox[names[2]][:12000])
