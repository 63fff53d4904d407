"""What a person watching a comparison sees: one bar over all searches and final evaluations, and a line per run."""
from __future__ import annotations

from typing import Any


class Progress:
    """Receives the driver's events; draws an overall tqdm bar with ETA (stderr) and prints a line per finished run."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.bar: Any = None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __call__(self, event: str, **info: Any) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if event == "plan":
            # final evaluations are not known before the searches end: estimated at K per run until then
            self.bar = tqdm(total=info["searches"] + info["runs"] * info["k"], desc="searches", unit="job", dynamic_ncols=True)
        elif self.bar is None:
            return
        elif event == "search":
            self.bar.update(1)
        elif event == "finals":
            self.bar.set_description("final evaluations")
            self.bar.total = self.bar.n + info["total"]
            self.bar.refresh()
        elif event == "final":
            self.bar.update(1)
        elif event == "run":
            r = info["record"]
            hv = "n/a" if r["hypervolume"] is None else f"{r['hypervolume']:.4f}"
            flag = "; AUDIT FLAG: unaccounted compute" if r["audit"].get("flagged") else ""
            tqdm.write(f"done {r['strategy']}/{r['task']}/seed{r['seed']}: hypervolume {hv}, "
                       f"{r['n_evaluations']} evaluations, {r['status']}{flag}")
