"""An app module that cannot be imported: the supervisor must stop, not respawn forever."""

raise RuntimeError("sup_broken refuses to load")
