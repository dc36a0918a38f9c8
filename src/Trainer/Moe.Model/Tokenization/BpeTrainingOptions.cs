namespace Moe.Model.Tokenization;

/// <summary>How <see cref="BpeTokenizer.Train(IEnumerable{string}, int, BpeTrainingOptions, IProgress{double}?)"/> learns merges.</summary>
/// <param name="MinPairFrequency">
/// Stop merging once the most frequent pair occurs fewer times than this (the vocabulary then ends up smaller than asked).
/// 1 merges while any pair is left, like Hugging Face's default.
/// </param>
public sealed record BpeTrainingOptions(int MinPairFrequency = 1)
{
    public static readonly BpeTrainingOptions Default = new();
}
