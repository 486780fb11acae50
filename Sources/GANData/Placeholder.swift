public enum GANDataModule {}
