# torch_ext tests are added here.
