"""Editor export: the finished timeline as OpenTimelineIO, a CMX 3600 EDL, FCPXML and a Kdenlive project.

`core.editorial` describes the timeline (pure); `otio_timeline` makes it an OTIO timeline; the EDL is
OTIO's CMX 3600 adapter; FCPXML (`fcpxml`) and the Kdenlive project (`kdenlive`, MLT XML) are written
here from the OTIO timeline, where the adapters fall short; `export` gathers a rendered video from the
store, checks it is whole and current, and writes the file.
"""
