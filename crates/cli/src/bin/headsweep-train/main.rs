//! `headsweep-train`: the `headsweep` command line with libtorch linked.
//! `headsweep` starts it for the commands that train (`train`, `explain`,
//! `worker`) and to ask how many CUDA devices there are (`devices`); it
//! carries out every other command too, the same way `headsweep` does.

mod explain;
mod train;
mod worker;

use headsweep_cli::{exit, Command, Torch};

/// Training in this process.
struct InProcess;

impl Torch for InProcess {
    fn run(&self, command: Command) -> anyhow::Result<i32> {
        match command {
            Command::Train(a) => train::run(a).map(|()| exit::SUCCESS),
            Command::Explain(a) => explain::run(a).map(|()| exit::SUCCESS),
            Command::Worker(a) => worker::run(a),
            Command::Devices => {
                println!(
                    "{}",
                    headsweep_cli::commands::devices_line(self.cuda_devices()?)
                );
                Ok(exit::SUCCESS)
            }
            other => anyhow::bail!("headsweep-train does not carry out {other:?}"),
        }
    }

    fn cuda_devices(&self) -> anyhow::Result<usize> {
        Ok(headsweep_model::cuda_device_count())
    }
}

fn main() {
    headsweep_cli::main(&InProcess)
}
