"""Typed, versioned files that cross stage boundaries (see docs/DESIGN.md, "Artifacts")."""

from trainlab.artifacts.base import Artifact, ArtifactError

__all__ = ["Artifact", "ArtifactError"]
