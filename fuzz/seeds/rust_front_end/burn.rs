//! Rule fixture: burn.
//!
//! Lines ending in a rule-id marker must be reported with that rule; every other line must not.

use burn::backend::ndarray::NdArrayDevice;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{backend::Backend, Int, Tensor, TensorData};

#[derive(Module, Debug)]
pub struct Model<B: Backend> {
    linear: Linear<B>,
}

impl<B: Backend> Model<B> {
    pub fn new(device: &B::Device) -> Self {
        let linear = LinearConfig::new(4, 2).init(device);
        let probe = Tensor::<B, 2>::zeros([1, 4], device);
        let warmup = linear.forward(probe).into_data(); // D2H001
        let _ = warmup;
        Model { linear }
    }

    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let y = self.linear.forward(x);
        let peak = y.clone().max().into_scalar(); // D2H002
        let _ = peak;
        y
    }

    pub fn copies(&self, x: Tensor<B, 2>, labels: Tensor<B, 1, Int>) -> Vec<f32> {
        let data: TensorData = x.clone().into_data(); // D2H001
        let again = x.to_data(); // D2H001
        let ids = labels.into_data(); // D2H001
        let values = data.to_vec::<f32>().unwrap();
        let more = again.as_slice::<f32>().unwrap().to_vec();
        let _ = (ids, more);
        values
    }

    pub fn chained(&self, x: Tensor<B, 2>) -> Vec<f32> {
        x.into_data().to_vec::<f32>().unwrap() // D2H001
    }

    pub fn to_cpu(&self, x: Tensor<B, 2>) -> f32 {
        let cpu = NdArrayDevice::Cpu;
        let moved = x.clone().to_device(&cpu); // D2H001
        let cpu_device = NdArrayDevice::default();
        let moved_again = x.to_device(&cpu_device); // D2H001
        let _ = moved_again;
        moved.into_data().to_vec::<f32>().unwrap()[0]
    }

    pub fn uploads(&self, values: Vec<f32>, device: &B::Device) -> Tensor<B, 1> {
        let t = Tensor::<B, 1>::from_floats(values.as_slice(), device); // D2H007
        let moved = t.clone().to_device(device);
        let n = moved.dims()[0];
        let shape = t.shape();
        let _ = (n, shape);
        moved
    }

    pub fn upload_data(&self, data: TensorData, values: [f32; 4], device: &B::Device) -> Tensor<B, 1> {
        let t = Tensor::<B, 1>::from_data(data.clone(), device); // D2H007
        let f = Tensor::<B, 1>::from_floats(values, device); // D2H007
        let cpu = Tensor::<B, 1>::from_data(data, &NdArrayDevice::Cpu);
        let made_there = Tensor::<B, 1>::zeros([4], device);
        let _ = cpu;
        t + f + made_there
    }

    pub fn formatting(&self, x: Tensor<B, 2>) {
        println!("{}", x); // D2H005
        println!("dims {:?}", x.dims());
        log::debug!("{x}"); // D2H005
    }
}
