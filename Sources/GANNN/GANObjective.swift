/// The GAN objective: how D's (or the critic's) outputs become losses.
public enum GANObjective: Equatable, Sendable {
    /// Goodfellow et al. 2014: D maximises log D(x) + log(1 - D(G(z))); G minimises log(1 - D(G(z))).
    case minimax
    /// Same D loss; G minimises -log D(G(z)) (the paper's practical recommendation).
    case nonSaturating
    /// WGAN (Arjovsky et al. 2017): critic minimises -(mean f(x) - mean f(G(z))); G minimises
    /// -mean f(G(z)). Pair with weight clipping (`Optimizer.clipValue`) on the critic.
    case wasserstein
}
