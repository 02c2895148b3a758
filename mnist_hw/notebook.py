"""The notebooks' one import surface: the data, model, training, table and plot names the four questions use,
re-exported from where they live (each is the object itself: its definition is one click away)."""
from .engine import classic
from .engine.data import load_splits
from .engine.models import PCA, Autoencoder, SimpleMLP, seeded
from .engine.train import CONFIG_KEY, TrainConfig
from .questions import plots, tables
from .questions.text import show_code
from .runs.folder import open_run
from .runs.guard import ParameterGuard
from .runs.sweep import sweep_configs

__all__ = ["CONFIG_KEY", "Autoencoder", "PCA", "ParameterGuard", "SimpleMLP", "TrainConfig", "classic", "load_splits", "open_run",
           "plots", "seeded", "show_code", "sweep_configs", "tables"]
