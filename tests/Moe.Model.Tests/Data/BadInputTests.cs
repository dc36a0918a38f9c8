using System.Text;
using Moe.Model.Data;

namespace Moe.Model.Tests.Data;

/// <summary>Every kind of bad input names the file and line, and a failed preparation leaves no output folder behind.</summary>
public sealed class BadInputTests : TempFolderTest
{
    /// <summary>Prepares <paramref name="source"/> into out/ds; expects a <see cref="DataException"/> at file:line
    /// mentioning <paramref name="fragment"/>, and nothing at all under out/.</summary>
    DataException AssertFailsCleanly(string source, int line, string fragment, ITokenEncoder? encoder = null)
    {
        Directory.CreateDirectory(PathOf("out"));
        var e = Assert.Throws<DataException>(() =>
            TokenDataset.Prepare([source], encoder ?? new ByteEncoder(), PathOf("out", "ds"), new() { ValidationFraction = 0.5 }));
        Assert.Equal(source, e.File);
        Assert.Equal(line, e.Line);
        Assert.StartsWith(line > 0 ? $"{source}:{line}: " : $"{source}: ", e.Message);
        Assert.Contains(fragment, e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(PathOf("out")));
        return e;
    }

    [Fact]
    public void EmptyTextFile() => AssertFailsCleanly(Write("empty.txt", " \n\n"), 1, "empty");

    [Fact]
    public void EmptyJsonLinesFile() => AssertFailsCleanly(Write("empty.jsonl", "\n\n"), 1, "empty");

    [Fact]
    public void UnknownFileFormat() => AssertFailsCleanly(Write("table.csv", "a,b\n1,2\n"), 0, "unknown format '.csv'");

    [Fact]
    public void InvalidJsonNamesItsLine() =>
        AssertFailsCleanly(Write("bad.jsonl", "{\"text\":\"fine\"}\n\n{\"text\": oops}\n"), 3, "invalid JSON");

    [Fact]
    public void RecordOfTheWrongShape() =>
        AssertFailsCleanly(Write("shape.jsonl", "{\"text\":\"fine\"}\n{\"title\":\"no text\"}\n"), 2, "missing field 'text'");

    [Fact]
    public void RecordThatIsNotAnObject() => AssertFailsCleanly(Write("array.jsonl", "[\"text\"]\n"), 1, "expected a JSON object");

    [Fact]
    public void PromptWithoutCompletion() =>
        AssertFailsCleanly(Write("pc.jsonl", "{\"prompt\":\"q\",\"completion\":\"a\"}\n{\"prompt\":\"q\"}\n"), 2, "missing field 'completion'");

    [Fact]
    public void TextThatIsNotAString() => AssertFailsCleanly(Write("num.jsonl", "{\"text\":42}\n"), 1, "must be a string");

    [Fact]
    public void UnknownChatRoleNamesTheRole() =>
        AssertFailsCleanly(Write("chat.jsonl",
            "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}\n" +
            "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"robot\",\"content\":\"beep\"}]}\n"), 2, "unknown role 'robot'");

    [Fact]
    public void InvalidUtf8NamesItsLine() =>
        AssertFailsCleanly(WriteBytes("latin1.txt", [.. "line one\nline "u8, 0xE9, .. "two\n"u8]), 2, "not valid UTF-8");

    [Fact]
    public void TokenIdOutOfRangeNamesTheDocumentsLineAndRemovesThePartialFolder()
    {
        // Vocabulary of the specials and ASCII only: the é on line 3 encodes to ids beyond it. Lines 1-2 are already
        // written to shards when it is met, so this checks that the temporary folder is removed.
        var ascii = new ByteEncoder(vocabSize: ByteEncoder.DefaultOffset + 128);
        var source = Write("ids.jsonl", "{\"text\":\"one\"}\n{\"text\":\"two\"}\n{\"text\":\"caf\u00e9\"}\n");
        AssertFailsCleanly(source, 3, "token id", ascii);
    }

    [Fact]
    public void MissingSourceFile() => AssertFailsCleanly(PathOf("nowhere.txt"), 0, "not found");

    [Fact]
    public void ChatMessagesAreRenderedWithTheChatTemplate()
    {
        var docs = DocumentReader.Read(Write("chat.jsonl",
            "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"2+2?\"},{\"role\":\"assistant\",\"content\":\"4\"}]}\n"));
        Assert.Equal("<|system|>\nBe brief.<|end|>\n<|user|>\n2+2?<|end|>\n<|assistant|>\n4<|end|>\n", Assert.Single(docs).Text);
    }

    [Fact]
    public void RecordsOfEachShapeReadWithTheirLines()
    {
        var path = Write("mixed.jsonl", "{\"text\":\"plain\"}\n\n{\"prompt\":\"Q: \",\"completion\":\"A\"}\r\n");
        var docs = DocumentReader.Read(path);
        Assert.Equal([("plain", 1), ("Q: A", 3)], docs.Select(d => (d.Text, d.Line)));
        Assert.Equal(Encoding.UTF8.GetBytes("x"), Encoding.UTF8.GetBytes(DocumentReader.Read(Write("bom.txt", "\uFEFFx")).Single().Text));
    }
}
