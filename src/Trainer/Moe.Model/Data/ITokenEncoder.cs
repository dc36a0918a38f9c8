namespace Moe.Model.Data;

/// <summary>
/// What dataset preparation needs from a tokenizer: a vocabulary size, text to ids, and a hash naming the vocabulary so a
/// prepared dataset records which tokenizer produced it. Ids must lie in [0, <see cref="VocabSize"/>).
/// </summary>
public interface ITokenEncoder
{
    int VocabSize { get; }
    int[] Encode(string text);
    /// <summary>A stable identifier of the vocabulary (for example a SHA-256 of its files), stored in the manifest.</summary>
    string VocabularyHash { get; }
}
