use tch::{Cuda, Device};

use crate::{DeviceError, TrainError};

/// Parses `cpu`, `cuda`, `cuda:N` or `auto` (the first GPU if any, else CPU).
pub fn parse_device(s: &str) -> Result<Device, TrainError> {
    match s {
        "cpu" => Ok(Device::Cpu),
        "auto" => Ok(Device::cuda_if_available()),
        "cuda" => cuda(0),
        _ => match s
            .strip_prefix("cuda:")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(i) => cuda(i),
            None => Err(DeviceError::Unknown(s.to_string()).into()),
        },
    }
}

fn cuda(i: usize) -> Result<Device, TrainError> {
    let n = cuda_device_count();
    if i < n {
        Ok(Device::Cuda(i))
    } else {
        Err(DeviceError::Unavailable {
            index: i,
            available: n,
        }
        .into())
    }
}

/// CUDA devices libtorch can see (0 without a GPU or without libtorch_cuda).
pub fn cuda_device_count() -> usize {
    if Cuda::is_available() {
        Cuda::device_count() as usize
    } else {
        0
    }
}
