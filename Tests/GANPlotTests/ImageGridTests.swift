import Testing
@testable import GANPlot

@Suite struct ImageGridTests {
    @Test func nearSquareShapes() {
        let g = ImageGrid()
        #expect(g.shape(count: 1) == (1, 1))
        #expect(g.shape(count: 4) == (2, 2))
        #expect(g.shape(count: 5) == (2, 3))
        #expect(g.shape(count: 64) == (8, 8))
        #expect(g.shape(count: 10) == (3, 4))
        #expect(ImageGrid(rows: 2).shape(count: 7) == (2, 4))
        #expect(ImageGrid(columns: 5).shape(count: 7) == (2, 5))
        #expect(ImageGrid(rows: 1, columns: 3).shape(count: 7) == (1, 3))
    }

    @Test func grayTilesLandAtExpectedPositions() {
        // 5 images of 3×4 (h×w); image i is filled with (i + 1) / 10, pixel (y, x) of image 2 marked.
        let (n, h, w) = (5, 3, 4)
        var values = [Float](repeating: 0, count: n * h * w)
        for i in 0..<n { for k in 0..<(h * w) { values[i * h * w + k] = Float(i + 1) / 10 } }
        values[2 * h * w + 1 * w + 3] = 1  // image 2, y = 1, x = 3
        let img = ImageGrid(padding: 2, scale: 1, padValue: 0).render(values, count: n, channels: 1, height: h, width: w)
        // 2 rows × 3 columns: width 3·4 + 4·2 = 20, height 2·3 + 3·2 = 12.
        #expect((img.width, img.height, img.format) == (20, 12, .gray8))
        func at(_ x: Int, _ y: Int) -> UInt8 { img.pixel(x: x, y: y)[0] }
        for i in 0..<n {
            let ox = 2 + (i % 3) * (w + 2), oy = 2 + (i / 3) * (h + 2)
            #expect(at(ox, oy) == UInt8((Float(i + 1) / 10 * 255).rounded()))
        }
        #expect(at(2 + 2 * 6 + 3, 2 + 1) == 255)  // the marked pixel of image 2 (row 0, column 2)
        #expect(at(0, 0) == 0 && at(6, 2) == 0 && at(2, 5) == 0)  // padding
        #expect(at(2 + 2 * 6, 2 + 5) == 0)  // the empty sixth cell
    }

    @Test func rgbUpscaledTiles() throws {
        // 2 RGB images of 1×2 (h×w), scale 3, one row.
        let values: [Float] = [1, 0, /*G*/ 0, 0, /*B*/ 0, 1,   // image 0: pixel0 red, pixel1 blue
                               0, 0.5, 0, 0.5, 0, 0.5]           // image 1: black, grey
        let g = ImageGrid(rows: 1, padding: 2, scale: 3, padValue: 1)
        let img = g.render(values, count: 2, channels: 3, height: 1, width: 2)
        #expect((img.width, img.height, img.format) == (2 * 6 + 3 * 2, 3 + 2 * 2, .rgb8))
        #expect(g.tileOrigin(row: 0, column: 1, tileHeight: 1, tileWidth: 2) == (10, 2))
        for d in 0..<3 {
            #expect(img.pixel(x: 2 + d, y: 2 + d) == [255, 0, 0])
            #expect(img.pixel(x: 5 + d, y: 2 + d) == [0, 0, 255])
            #expect(img.pixel(x: 10 + d, y: 4) == [0, 0, 0])
            #expect(img.pixel(x: 13 + d, y: 2) == [128, 128, 128])
        }
        #expect(img.pixel(x: 8, y: 3) == [255, 255, 255])  // padding between tiles
        let png = try DecodedPNG(img.pngData())
        #expect(png.pixels == img.pixels && png.colorType == 2)
    }

    @Test func valueRangeClampsAndMapsTanhOutputs() {
        let img = ImageGrid(padding: 0, valueRange: -1...1).render([-1, 0, 1, 3, .nan, -7], count: 1, channels: 1, height: 1, width: 6)
        #expect(img.pixels == [0, 128, 255, 255, 0, 0])
    }
}
