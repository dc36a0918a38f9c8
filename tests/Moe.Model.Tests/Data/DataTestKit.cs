using System.Text;
using Moe.Model.Data;

namespace Moe.Model.Tests.Data;

/// <summary>
/// A stand-in tokenizer for data tests (the real one lives elsewhere and may change): every UTF-8 byte b is id
/// <c>Offset + b</c>, below it three special ids (pad 0, bos 1, eos 2). A vocabulary smaller than Offset + 256 makes
/// non-ASCII bytes fall outside it, which is how tests provoke out-of-range ids.
/// </summary>
sealed class ByteEncoder(int vocabSize = ByteEncoder.DefaultVocab, int offset = ByteEncoder.DefaultOffset) : ITokenEncoder
{
    public const int DefaultOffset = 3;
    public const int DefaultVocab = DefaultOffset + 256;
    public const int Eos = 2;

    public int VocabSize { get; } = vocabSize;
    public int Offset { get; } = offset;
    public string VocabularyHash => $"bytes+{Offset}/{VocabSize}";

    public int[] Encode(string text) => Encoding.UTF8.GetBytes(text).Select(b => Offset + b).ToArray();

    public string Decode(IEnumerable<int> ids) => Encoding.UTF8.GetString(ids.Select(i => (byte)(i - Offset)).ToArray());
}

/// <summary>A private temporary folder per test class instance, removed afterwards.</summary>
public abstract class TempFolderTest : IDisposable
{
    protected readonly string Dir = Directory.CreateTempSubdirectory("moe-data-").FullName;

    public void Dispose() => Directory.Delete(Dir, recursive: true);

    protected string PathOf(params string[] parts) => Path.Combine([Dir, .. parts]);

    /// <summary>Writes <paramref name="content"/> under the folder (creating subfolders) and returns the path.</summary>
    protected string Write(string relative, string content)
    {
        var path = PathOf(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    protected string WriteBytes(string relative, byte[] content)
    {
        var path = PathOf(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        return path;
    }
}
