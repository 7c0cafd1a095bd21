"""Pictures of tracks and cars: RGB frames with Pillow, track figures with matplotlib, GIF/MP4 files.

Frames are drawn with Pillow (fast, no window), once per step; the track itself is drawn once
and reused. :func:`save_animation` writes frames as a GIF (Pillow) or an MP4 (needs ``ffmpeg``
on the PATH). :func:`plot_track` draws a track as a matplotlib figure in annrl's style.
"""

from __future__ import annotations

import functools
import math
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from annrl.envs.tracks import Track
from annrl.errors import InputError

GRASS, ASPHALT, WALL = (86, 140, 76), (70, 70, 74), (235, 235, 235)
CENTRE, START = (120, 120, 126), (250, 250, 250)
CAR, CRASHED, RAY, OUTLINE = (60, 140, 240), (230, 60, 50), (255, 210, 60), (20, 20, 20)
MIN_CAR_PIXELS = 5.0  # cars are drawn at least this big (nose to centre)
MAX_CARS_WITH_RAYS = 16  # beyond this a frame shows bodies only: rays would hide the track


class TrackRenderer:
    """Draws a track once, then cars and their sensor rays on copies of it.

    Cars on other tracks (a simulator whose cars drive different tracks) are drawn each on its own
    track: the frame becomes a grid of panels, one per track of the cars drawn (see :meth:`frame`).

    Parameters
    ----------
    track : Track
    width : int, default=640
        Image width in pixels; the height follows the track's aspect ratio.
    margin : float, default=6.0
        Metres of grass around the outer wall.
    """

    def __init__(self, track: Track, width: int = 640, margin: float = 6.0):
        self.track = track
        lo = track.outer.min(axis=0) - margin
        hi = track.outer.max(axis=0) + margin
        self.scale = width / float(hi[0] - lo[0])  # pixels per metre
        self.size = (int(width), max(1, int(round((hi[1] - lo[1]) * self.scale))))
        self.origin = lo
        self._background = None
        self._panels: dict[Any, TrackRenderer] = {}  # renderers of the other tracks' panels

    def to_pixels(self, points: np.ndarray) -> np.ndarray:
        """World metres ``(..., 2)`` to image pixels, y pointing down."""
        px = (np.asarray(points, dtype=float) - self.origin) * self.scale
        px[..., 1] = self.size[1] - px[..., 1]
        return px

    def background(self):
        """The track alone, as a Pillow image (cached)."""
        if self._background is None:
            from PIL import Image, ImageDraw

            img = Image.new("RGB", self.size, GRASS)
            draw = ImageDraw.Draw(img)
            draw.polygon([tuple(p) for p in self.to_pixels(self.track.outer)], fill=ASPHALT)
            draw.polygon([tuple(p) for p in self.to_pixels(self.track.inner)], fill=GRASS)
            for wall in (self.track.outer, self.track.inner):
                draw.line([tuple(p) for p in self.to_pixels(np.vstack([wall, wall[:1]]))], fill=WALL, width=2)
            centre = self.to_pixels(np.vstack([self.track.centre, self.track.centre[:1]]))
            draw.line([tuple(p) for p in centre], fill=CENTRE, width=1)
            draw.line([tuple(p) for p in self.to_pixels(_start_line(self.track))], fill=START, width=3)
            self._background = img
        return self._background

    def frame(self, sim: Any, cars: np.ndarray | None = None, rays: bool | None = None,
              caption: list[str] | None = None) -> np.ndarray:
        """One RGB frame of the simulator's cars, each drawn on its own track.

        When every car drawn drives this renderer's track (one track, or the cars chosen), the frame
        is that track with the cars on it. Otherwise it is a grid of panels, one per track of the cars
        drawn in the order of their first car, about ``ceil(sqrt(tracks))`` panels wide within the
        renderer's width; each panel shows its track and its cars only.

        Parameters
        ----------
        sim : CarSimulator
        cars : int array, optional
            Which cars to draw (all by default).
        rays : bool, optional
            Draw sensor rays; by default only when at most 16 cars are drawn.
        caption : list of str, optional
            Lines of text written in the top-left corner (step, lap, speed, return).

        Returns
        -------
        uint8 array, shape (height, width, 3)
        """
        from PIL import ImageDraw

        idx = np.arange(sim.n) if cars is None else np.asarray(cars, dtype=np.int64)
        rays = rays if rays is not None else len(idx) <= MAX_CARS_WITH_RAYS
        groups: dict[Any, list[int]] = {}
        for k in idx.tolist():
            groups.setdefault(sim.car_tracks[k], []).append(k)
        if set(groups) <= {self.track}:
            img = self._draw(sim, idx, rays)
        else:
            img = self._grid(sim, groups, rays)
        if caption:
            _write(ImageDraw.Draw(img), caption)
        return np.asarray(img)

    def _grid(self, sim: Any, groups: dict[Any, list[int]], rays: bool):
        """Panels of ``groups`` (track -> its cars) tiled row by row, as one Pillow image."""
        from PIL import Image

        columns = math.ceil(math.sqrt(len(groups)))
        width = self.size[0] // columns
        panels = []
        for track, cars in groups.items():
            if track not in self._panels:
                self._panels[track] = TrackRenderer(track, width=width)
            panels.append(self._panels[track]._draw(sim, np.asarray(cars, dtype=np.int64), rays))
        rows = [panels[i: i + columns] for i in range(0, len(panels), columns)]
        heights = [max(p.size[1] for p in row) for row in rows]
        img = Image.new("RGB", (width * columns, sum(heights)), GRASS)
        for r, row in enumerate(rows):
            for c, panel in enumerate(row):
                img.paste(panel, (c * width, sum(heights[:r])))
        return img

    def _draw(self, sim: Any, idx: np.ndarray, rays: bool):
        """This track with cars ``idx`` (on it) and, if ``rays``, their sensor rays: a Pillow image."""
        from PIL import ImageDraw

        state = sim.state
        img = self.background().copy()
        draw = ImageDraw.Draw(img)
        xy = np.column_stack([state.x[idx], state.y[idx]])
        heading = np.asarray(state.heading)[idx]
        crashed = np.asarray(sim.last_flags[0])[idx] & ~np.asarray(sim.pending)[idx]
        if rays:
            angles = heading[:, None] + sim.sensors.angles[idx]
            reach = np.asarray(sim.obs)[idx, : sim.n_rays] * sim.sensors.max_range[idx]
            ends = xy[:, None, :] + reach[..., None] * np.stack([np.cos(angles), np.sin(angles)], axis=-1)
            start, ends = self.to_pixels(xy), self.to_pixels(ends)
            for k in range(len(idx)):
                for end in ends[k]:
                    draw.line([tuple(start[k]), tuple(end)], fill=RAY, width=1)
        radius = max(float(sim.settings.car_radius), MIN_CAR_PIXELS / self.scale)  # visible when zoomed out
        for k in range(len(idx)):
            body = self.to_pixels(_car_outline(xy[k], heading[k], radius))
            draw.polygon([tuple(p) for p in body], fill=CRASHED if crashed[k] else CAR, outline=OUTLINE)
        return img


def _write(draw: Any, lines: list[str]) -> None:
    """Light text on a dark box in the top-left corner (colours from the GIF palette)."""
    text = "\n".join(lines)
    box = draw.multiline_textbbox((4, 4), text)
    draw.rectangle((box[0] - 3, box[1] - 3, box[2] + 3, box[3] + 3), fill=OUTLINE)
    draw.multiline_text((4, 4), text, fill=WALL)


def _car_outline(xy: np.ndarray, heading: float, radius: float) -> np.ndarray:
    """A pointed body (metres) that fits the car's collision disc, nose along the heading."""
    shape = radius * np.array([[1.0, 0.0], [0.3, 0.6], [-0.9, 0.6], [-0.9, -0.6], [0.3, -0.6]])
    c, s = math.cos(heading), math.sin(heading)
    return xy + shape @ np.array([[c, s], [-s, c]])


def _start_line(track: Track) -> np.ndarray:
    """A short segment across the track at the start, metres ``(2, 2)``."""
    x, y, h = track.start
    half = 0.5 * (track.width or 8.0)
    normal = np.array([-math.sin(h), math.cos(h)])
    return np.array([[x, y], [x, y]]) + np.outer([-half, half], normal)


class AnimationRecorder:
    """Collects frames one by one (kept as 8-bit palette images, a third of the memory).

    Parameters
    ----------
    every : int, default=1
        Keep one frame in this many offered to :meth:`add`.
    max_frames : int, default=600
        Stop keeping frames after this many (the animation shows the start of the run).
    """

    def __init__(self, every: int = 1, max_frames: int = 600):
        if every < 1 or max_frames < 1:
            raise InputError(f"every and max_frames must be >= 1, got {every} and {max_frames}")
        self.every, self.max_frames = every, max_frames
        self.frames: list = []
        self._offered = 0
        self.last_kept = 0  # which offer (counting from 0) the last kept frame was: the step it shows

    @property
    def full(self) -> bool:
        """Whether ``max_frames`` frames are kept (later ones are dropped)."""
        return len(self.frames) >= self.max_frames

    def wants_frame(self) -> bool:
        """Whether the next :meth:`add` keeps its frame (so the caller may skip drawing it)."""
        return not self.full and self._offered % self.every == 0

    def add(self, frame: np.ndarray | None, *, force: bool = False) -> None:
        """Offer a frame ``(height, width, 3)``; None counts a skipped frame.

        ``force`` keeps it whatever ``every`` and ``max_frames`` say (the closing frame of a drive).
        """
        from PIL import Image

        if frame is not None and (force or self.wants_frame()):
            self.frames.append(Image.fromarray(frame).quantize(palette=_palette(), dither=Image.Dither.NONE))
            if not force:
                self.last_kept = self._offered
        self._offered += 1

    def save(self, path: str | Path, fps: int = 25) -> Path:
        """Write the kept frames as a GIF or MP4 (see :func:`save_animation`)."""
        return save_animation(self.frames, path, fps)


@functools.lru_cache(maxsize=1)
def _palette():
    """A palette image holding exactly the colours frames are drawn with."""
    from PIL import Image

    colours = [GRASS, ASPHALT, WALL, CENTRE, START, CAR, CRASHED, RAY, OUTLINE]
    flat = [c for colour in colours for c in colour]
    img = Image.new("P", (1, 1))
    img.putpalette(flat + flat[-3:] * (256 - len(colours)))
    return img


def save_animation(frames: list, path: str | Path, fps: int = 25) -> Path:
    """Write frames (RGB arrays ``(height, width, 3)`` or Pillow images) as a GIF, or as an MP4
    when ``ffmpeg`` is installed; returns the path."""
    from PIL import Image

    path = Path(path)
    if not frames:
        raise InputError(f"an animation needs at least one frame, got 0 for {path}")
    if fps < 1:
        raise InputError(f"fps must be >= 1, got {fps}")
    path.parent.mkdir(parents=True, exist_ok=True)
    images = [f if isinstance(f, Image.Image) else Image.fromarray(f) for f in frames]
    suffix = path.suffix.lower()
    if suffix == ".gif":
        duration = max(20, int(round(1000 / fps)))
        images[0].save(path, save_all=True, append_images=images[1:], duration=duration, loop=0)
    elif suffix == ".mp4":
        _write_mp4([np.asarray(img.convert("RGB")) for img in images], path, fps)
    else:
        raise InputError(f"animation path must end in .gif or .mp4, got {path.name!r}")
    return path


def _write_mp4(frames: list[np.ndarray], path: Path, fps: int) -> None:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise InputError(f"writing {path.name} needs ffmpeg on the PATH (apt install ffmpeg); use a .gif path instead")
    height, width = frames[0].shape[:2]
    even = (height - height % 2, width - width % 2)  # H.264 wants even sizes
    cmd = [ffmpeg, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{even[1]}x{even[0]}",
           "-r", str(fps), "-i", "-", "-pix_fmt", "yuv420p", "-vcodec", "libx264", str(path)]
    data = b"".join(np.ascontiguousarray(f[: even[0], : even[1]]).tobytes() for f in frames)
    subprocess.run(cmd, input=data, check=True)


def plot_track(track: Track, ax=None, *, checkpoints: int = 20):
    """Draw a track in metres: walls, centre line with its direction, start and checkpoints.

    Returns
    -------
    matplotlib Axes
    """
    from annrl.viz.style import figure

    if ax is None:
        _, ax = figure(size=(6.0, 4.8))
    for wall, label in ((track.outer, "outer wall"), (track.inner, "inner wall")):
        closed = np.vstack([wall, wall[:1]])
        ax.plot(closed[:, 0], closed[:, 1], color="0.15", lw=1.6, label="walls" if label == "outer wall" else None)
    ax.fill(track.outer[:, 0], track.outer[:, 1], color="0.85", zorder=0)
    ax.fill(track.inner[:, 0], track.inner[:, 1], color="white", zorder=0)
    centre = np.vstack([track.centre, track.centre[:1]])
    ax.plot(centre[:, 0], centre[:, 1], color="tab:blue", lw=0.8, ls="--", label="centre line")
    marks = _checkpoint_points(track.centre, checkpoints)
    ax.plot(marks[:, 0], marks[:, 1], "o", color="tab:orange", ms=3, label=f"{checkpoints} checkpoints")
    x, y, h = track.start
    ax.annotate("", xy=(x + 8 * math.cos(h), y + 8 * math.sin(h)), xytext=(x, y),
                arrowprops={"arrowstyle": "->", "color": "tab:red", "lw": 1.5})
    ax.plot([x], [y], "*", color="tab:red", ms=10, label="start")
    ax.set_aspect("equal")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    width = f", width {track.width:g} m" if track.width else ""
    ax.set_title(f"{track.name}: {track.length:.0f} m{width}")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=4, fontsize=7, frameon=False)
    return ax


def _checkpoint_points(centre: np.ndarray, count: int) -> np.ndarray:
    from annrl.envs.geometry import resample

    return resample(centre, count)
