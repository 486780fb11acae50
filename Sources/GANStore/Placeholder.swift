import GANTensor
