"""`fgc sweep`: many runs of one experiment that differ in a few values (fgc/cli/sweep.py).

    plan.py            the axes (`K=v1,v2`) and the combinations (grid, random)
    naming.py          the stable directory name of a combination
    store.py           sweep.json: the definition, each combination and its status
    job.py             one combination as commands (`fgc compile`, `fgc run`), run in a process
    runner.py          each combination's directory, what it needs now (skip, resume, run), its status
    launch_local.py    launcher: N local processes at once
    launch_submitit.py launcher: SLURM (or submitit's local executor) through submitit
    summary.py         the summary table (summary.md, summary.csv) and the combined loss plot
    optuna_search.py   the Optuna sampler (`--search optuna`)

The sweep never imports the runtime (forgather) or torch: every run is a subprocess.
"""
