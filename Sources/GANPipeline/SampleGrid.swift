import GANCheckpoint
import GANPlot

/// Generated images as one PNG grid (the train stage's per-checkpoint grids, eval/samples.png):
/// every pixel upscaled by nearest neighbour to about 84 pixels a side (28-pixel samples 3x, 64-pixel
/// ones 1x), big enough to judge, tiles separated and framed by a thin grey border.
enum SampleGrid {
    static let targetSize = 84
    static let border = 2

    /// `count` images in model units (the description's [C, H, W] each) de-normalised to data
    /// units and tiled near-square, or in `columns` columns.
    static func image(_ modelUnits: [Float], count: Int, description d: DataDescription, columns: Int? = nil) -> PixelImage {
        let shape = d.sampleShape
        let data = modelUnits.map { ($0 - d.offset) / d.scale }
        return ImageGrid.tile(data, count: count, channels: shape[0], height: shape[1], width: shape[2], columns: columns,
                              padding: border, scale: max(1, targetSize / max(shape[1], 1)))
    }
}
