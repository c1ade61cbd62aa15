mod synth;
mod train;

use crate::args::{Command, DataCommand};

pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Train(a) => train::run(a),
        Command::Data(DataCommand::Synth(a)) => synth::run(a),
    }
}
