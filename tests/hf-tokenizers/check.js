// node check.js <tokenizer.json> <cases.json>: cases are [{text, ids}]; prints {"cases","id_mismatches","decode_mismatches","vocab_size","examples"}.
const { Tokenizer } = require('tokenizers');
const fs = require('fs');

(async () => {
  const [tokenizerPath, casesPath] = process.argv.slice(2);
  const tokenizer = Tokenizer.fromFile(tokenizerPath);
  const cases = JSON.parse(fs.readFileSync(casesPath, 'utf8'));
  let idMismatches = 0, decodeMismatches = 0;
  const examples = [];
  for (const c of cases) {
    const encoding = await tokenizer.encode(c.text, null, { addSpecialTokens: true });
    const ids = encoding.getIds();
    if (JSON.stringify(ids) !== JSON.stringify(c.ids)) {
      idMismatches++;
      if (examples.length < 3) examples.push({ text: c.text, hf: encoding.getTokens(), ours: c.ids.map(i => tokenizer.idToToken(i)) });
    }
    if (await tokenizer.decode(c.ids, false) !== c.text) decodeMismatches++;
  }
  console.log(JSON.stringify({ cases: cases.length, id_mismatches: idMismatches, decode_mismatches: decodeMismatches,
    vocab_size: tokenizer.getVocabSize(true), examples }));
})().catch(e => { console.error(e.stack || String(e)); process.exit(1); });
