/// Renders a message as the LED frames that scroll it right to left across the matrix.
///
/// The original hub showed temperatures this way ("t: 21.40"): eight columns hold barely
/// two characters, so the text moves one column per frame. The renderer is pure — the
/// display component decides when each frame is written — and it never fails: characters
/// the font lacks draw as a box.
///
/// Geometry: glyphs sit on matrix rows 1–7 (row 0 stays dark, so descenders reach the
/// bottom edge), one dark column between glyphs. Frame 0 shows the text's first column at
/// the right edge; each frame moves the picture one column left; the last frame is dark,
/// the last column having just left on the left. That is `width + 8` frames, and the
/// matrix ends blank rather than frozen on a fragment of the message.
public enum ScrollText {
    /// The matrix row of a glyph's top row.
    public static let topRow = 1
    static let matrixSize = 8

    /// The message's pixel columns left to right (bit 0 = glyph top row), gaps included.
    public static func columns(for text: String) -> [UInt8] {
        var columns = [UInt8]()
        for character in text {
            if !columns.isEmpty { columns.append(0) }
            columns.append(contentsOf: (Font5x7.glyph(for: character) ?? Font5x7.box).columns)
        }
        return columns
    }

    /// The message's width in columns, gaps between glyphs included.
    public static func width(of text: String) -> Int {
        columns(for: text).count
    }

    /// The frames that scroll `text` across the matrix in `colour` on a dark background.
    public static func frames(for text: String, colour: RGB5) -> [LEDFrame] {
        let strip = columns(for: text)
        let frameCount = strip.count + matrixSize
        var frames = [LEDFrame]()
        frames.reserveCapacity(frameCount)
        for index in 0..<frameCount {
            var frame = LEDFrame(filledWith: .off)
            for matrixColumn in 0..<matrixSize {
                // Frame `index` shows text column `index + matrixColumn − 7` at `matrixColumn`.
                let textColumn = index + matrixColumn - (matrixSize - 1)
                guard strip.indices.contains(textColumn) else { continue }
                let bits = strip[textColumn]
                for glyphRow in 0..<Font5x7.height where bits & (1 << UInt8(glyphRow)) != 0 {
                    frame[topRow + glyphRow, matrixColumn] = colour
                }
            }
            frames.append(frame)
        }
        return frames
    }
}
