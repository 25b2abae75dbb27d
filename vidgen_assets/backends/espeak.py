"""Local speech for the animatic: the espeak-ng library, driven through its C API with ctypes.

The library and its voice data come from the `espeakng-loader` wheel (espeak-ng 1.52, GPL-3.0-or-later;
see docs/media.md, "Dependency notes"), so nothing is downloaded at run time. It is initialised once per process in
synchronous mode (`AUDIO_OUTPUT_SYNCHRONOUS`: `espeak_Synth` returns when every sample has been handed to
our callback, no audio device, no thread), and every synthesis holds one lock (the library keeps global
state). Word events give the exact sample where each word starts.

Voices: a language code of the engine (`en-us`, `en-gb`, `fr-fr`, ... `espeak_ListVoices`), optionally
with a variant (`en-us+f3`, `en-gb+m3`, `de+whisper`: the files of `voices/!v`). `narrator` is `en-us`.
"""

from __future__ import annotations

import ctypes
import threading
import wave
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import espeakng_loader

from vidgen_assets.core.voice import NARRATOR

ENGINE = "espeak-ng-1.52"
NARRATOR_VOICE = "en-us"
DEFAULT_WPM = 175
"""espeak-ng's default rate (words per minute); `speed` multiplies it."""
MIN_WPM, MAX_WPM = 80, 450

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE = 1
_EVENT_LIST_TERMINATED, _EVENT_WORD = 0, 1


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


class _Voice(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_char_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


class SpeechEngineError(RuntimeError):
    """The engine could not be loaded or refused a voice or a text."""


@dataclass(frozen=True)
class Word:
    """A word of the text (its characters) and the second it starts at in the audio."""

    text: str
    start_s: float


@dataclass(frozen=True)
class Speech:
    """Mono 16-bit PCM at `rate` Hz and the words' start times."""

    pcm: bytes
    rate: int
    words: tuple[Word, ...]

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / self.rate

    def write_wav(self, out: Path) -> None:
        with wave.open(str(out), "wb") as handle:
            handle.setnchannels(1)
            handle.setsampwidth(2)
            handle.setframerate(self.rate)
            handle.writeframes(self.pcm)


class _Engine:
    """The loaded library (one per process)."""

    def __init__(self) -> None:
        try:
            lib = ctypes.CDLL(espeakng_loader.get_library_path())
        except OSError as exc:
            raise SpeechEngineError(f"cannot load espeak-ng from the espeakng-loader wheel: {exc}") from None
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_Callback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                     ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]  # fmt: skip
        lib.espeak_Synth.restype = ctypes.c_int
        data = espeakng_loader.get_data_path().encode()
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, _INITIALIZE_DONT_EXIT)
        if rate <= 0:
            raise SpeechEngineError(f"espeak_Initialize failed ({rate}) with the data at {data.decode()}")
        self.lib = lib
        self.rate = rate
        self.lock = threading.Lock()
        self._chunks: list[bytes] = []
        self._events: list[tuple[int, int, int]] = []
        self._languages: dict[str, str] | None = None
        self._callback = _Callback(self._collect)  # kept referenced: the library calls it
        lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav: ctypes._Pointer[ctypes.c_short], count: int, events: ctypes._Pointer[_Event]) -> int:
        if wav and count > 0:
            self._chunks.append(ctypes.string_at(wav, count * 2))
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type == _EVENT_WORD:
                self._events.append((event.text_position, event.length, event.sample))
            i += 1
        return 0

    @property
    def languages(self) -> dict[str, str]:
        """Each voice's language code and the identifier `espeak_SetVoiceByName` takes (`en-gb`: `gmw/en`)."""
        if self._languages is None:
            voices = self.lib.espeak_ListVoices(None)
            found: dict[str, str] = {}
            i = 0
            while voices[i]:
                # `languages` is a priority byte, then a 0-terminated language name (then possibly more).
                raw = ctypes.string_at(voices[i].contents.languages, 64)
                code = raw[1:].split(b"\0", 1)[0].decode("ascii", "replace")
                found.setdefault(code, voices[i].contents.identifier.decode("ascii", "replace"))
                i += 1
            self._languages = dict(sorted(found.items()))
        return self._languages

    def synthesize(self, text: str, voice: str, speed: float) -> Speech:
        encoded = text.encode("utf-8")
        with self.lock:
            if self.lib.espeak_SetVoiceByName(voice.encode("utf-8")) != 0:
                raise SpeechEngineError(f"espeak-ng has no voice {voice!r}")
            wpm = min(MAX_WPM, max(MIN_WPM, round(DEFAULT_WPM * speed)))
            self.lib.espeak_SetParameter(_RATE, wpm, 0)
            self._chunks, self._events = [], []
            buffer = ctypes.create_string_buffer(encoded)
            status = self.lib.espeak_Synth(buffer, len(encoded) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            if status != 0:
                raise SpeechEngineError(f"espeak_Synth failed ({status})")
            pcm, events = b"".join(self._chunks), list(self._events)
        # An event's position counts characters from 1; its word runs to the next space (the event's own
        # length field counts what the engine read, which differs for contractions and numbers).
        words = tuple(Word(_word_at(text, pos - 1), sample / self.rate) for pos, _length, sample in events)
        return Speech(pcm, self.rate, words)


def _word_at(text: str, start: int) -> str:
    end = start
    while end < len(text) and not text[end].isspace():
        end += 1
    return text[start:end].strip("\"'.,:;!?()[]")


@cache
def engine() -> _Engine:
    return _Engine()


@cache
def variants() -> tuple[str, ...]:
    folder = Path(espeakng_loader.get_data_path()) / "voices" / "!v"
    return tuple(sorted(p.name for p in folder.iterdir() if p.is_file()))


def voices() -> tuple[str, ...]:
    """The voice names this engine accepts without a variant (language codes), `narrator` and English first."""
    languages = list(engine().languages)
    english = sorted((code for code in languages if code.startswith("en")), key=lambda c: (c != NARRATOR_VOICE, c))
    return (NARRATOR, *english, *(code for code in languages if not code.startswith("en")))


def resolve_voice(name: str) -> str | None:
    """The engine's voice (identifier, `+variant`) for a spec's `voice.voice`, or None when it has none."""
    base, _, variant = (NARRATOR_VOICE if name == NARRATOR else name).partition("+")
    identifier = engine().languages.get(base)
    if identifier is None or (variant and variant not in variants()):
        return None
    return f"{identifier}+{variant}" if variant else identifier


def synthesize(text: str, voice: str, speed: float = 1.0) -> Speech:
    """`text` spoken in `voice` (a spec's name: `narrator`, `en-gb`, `en-us+f3`) at `speed`."""
    resolved = resolve_voice(voice)
    if resolved is None:
        raise SpeechEngineError(f"espeak-ng has no voice {voice!r}")
    return engine().synthesize(text, resolved, speed)


def voice_label(name: str) -> str:
    """How a record names the voice: the spec's name and, when it differs, the engine's identifier."""
    resolved = resolve_voice(name)
    return name if resolved is None or resolved == name else f"{name} ({resolved})"
