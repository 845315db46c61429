"""``python -m optuna_nas`` runs the main job."""

from optuna_nas._cli import main

if __name__ == "__main__":
    main()
