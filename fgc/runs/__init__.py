"""Runs: what `fgc run`, `fgc ctl` and `fgc sweep` share about run directories and processes.

    plan.py        where a run writes and with which values (a build or a run directory,
                   --output-dir, --resume, --set): `plan_run` -> `Plan`
    dirs.py        run directories: new timestamped ones, `latest`, --output-dir, FG0730
    record.py      the run record (fgc-run.json): start, finish, the files read
    roles.py       which part of a run a process plays (single, launcher, node, worker, a plain
                   torchrun process, a SLURM submission), from its command line and environment
    session.py     what each role does with the checked command line (`RunCommand`): plan,
                   begin, build and run the target or launch, finish the record
    launcher.py    --nproc: torchrun's arguments, the agent, forwarding stop signals to the
                   node's workers, reading the outcome (stop note, failures by rank and signal)
    agent.py       torchrun's agent as a launch runs it (`python -m fgc.runs.agent`)
    worker.py      a launched worker: its rank file, its values and resume checkpoint
    rendezvous.py  plain `torchrun -m fgc run`: one run directory for every process
    control.py     `fgc ctl`: requests to a running job, their answers, status
    slurm.py       `--launcher slurm`: the job through submitit, requeued with --resume
    trainers.py    which trainer classes a build names, and whether they run in several processes
    staleness.py   a build whose sources changed since compile
    processes.py   liveness, signals, dying with the parent

The contract with the runtime (environment names, the record's name and statuses, the snapshot,
checkpoint completeness, the files of a running job) is `forgather_files.runs` and
`forgather_files.checkpoints`. Nothing here imports the runtime; `agent.py` and `rendezvous.py`
import torch (they run only in processes of a torchrun launch).
"""
