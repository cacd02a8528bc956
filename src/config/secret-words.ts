/**
 * Words that people build "secret" strings from: frequent English words, the vocabulary of
 * configuration and deployment (secret, key, production, metrics…), names of products and
 * vendors, months, colours, animals and the stems of leaked-password lists. The estimator in
 * secret-strength.ts counts a match as one pick from this list (about 2 bytes with case,
 * spelling and suffix) instead of its letters. It is small on purpose: a word missing here is
 * still credited as letters, so the list only has to catch what people actually type, and
 * every extra word makes each match a little more expensive (log2 of the list's size).
 */
const WORDS = `
the and for are but not you all any can had her was one our out day get has him his how man new now old see two
way who boy did its let put say she too use this that with have from they will what when your said each which
their there been many some them than then into more time very just only over also back after first well even
want because these give most make like know take year good come could would should about other people think look
work life where through being here need feel such still must while every never always again before under
between without within really thing things great little world right same last long high small large next early
young important public private able own big best better real true false sure free full open close start stop end
home house place part case point group number fact hand eye word name week month today tomorrow yesterday
morning night water money story power city country state family school student company system program question
government business service problem issue side kind head line area room book job law car game idea team face body
health level office door war force person history party result change reason research girl guy moment air
teacher education information friend father mother parent child children love heart light music mind voice card
letter paper table phone ask tell call try leave keep begin seem help talk turn show hear play run move live
believe hold bring happen write provide sit stand lose pay meet include continue set learn lead understand watch
follow create speak read allow add spend grow offer remember consider appear buy wait serve die send expect build
stay fall cut reach kill remain suggest raise pass sell require report decide pull went gone made found told
became left felt brought began kept held wrote stood heard meant met ran paid sat spoke led grew lost fell sent
built drew broke spent rose drove bought wore chose know knew known think thought see saw seen give gave given
take took taken come came make find found tell say get got gotten going doing done say says said ever yet though
although however yes yeah okay please thanks thank sorry maybe perhaps almost enough quite rather soon later
away down off above below near far inside outside across along around behind beyond during until since toward
upon against among per via may might shall cannot can't into onto unto whose whom why what how nothing
something anything everything someone anyone everyone nobody somebody everybody myself yourself himself herself
itself ourselves themselves mine yours ours theirs hers
one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen
eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million billion first
second third fourth fifth zero half double triple single
monday tuesday wednesday thursday friday saturday sunday january february march april june july august
september october november december spring summer autumn winter season weekend holiday christmas easter
red green blue yellow orange purple pink brown black white grey gray silver gold golden dark bright violet
cyan magenta indigo crimson scarlet
dog cat bird fish horse cow pig sheep goat lion tiger bear wolf fox eagle hawk falcon owl shark whale dolphin
snake dragon monkey rabbit mouse rat duck chicken bee ant spider panda koala zebra giraffe elephant penguin
phoenix unicorn griffin cobra viper python raven crow
sun moon star stars sky earth planet space rain snow wind storm cloud fire ice stone rock tree forest river lake
sea ocean mountain hill island beach desert garden flower rose lily ocean wave thunder lightning sunshine shadow
apple banana cherry orange lemon lime grape mango peach pear plum berry coffee tea beer wine pizza cookie cake
bread cheese chocolate candy sugar honey butter salt pepper spice
secret secrets key keys password passwords passwd pass passphrase passcode pin token tokens auth authentication
authorization oauth login logon logout signin signup admin administrator root user users username account
accounts access master private public secure security crypto cipher encrypt encrypted encryption decrypt hash
hashed salt salted signing signature sign signed verify jwt jwk jwks api apikey session sessions cookie cert
certificate ssl tls https http server servers client clients service services app application apps web website
site cloud prod production staging stage dev develop developer development test tests testing demo local localhost
internal external default defaults config configuration settings setting env environment database data redis
postgres postgresql mysql mongo mongodb sqlite docker kubernetes helm cluster node deploy deployment release
version backend frontend gateway proxy ingress metrics metric prometheus grafana monitor monitoring scrape scraper
scraping health status warden guard guardian shield vault aws azure google github gitlab bitbucket linux windows
apple microsoft amazon oracle facebook twitter slack jira company corp corporation inc ltd llc gmbh enterprise org
project platform network internet email mail account bearer rotate rotation backup temp temporary primary
secondary main slave sandbox mobile desktop portal dashboard console super ultra mega hyper strong random unique
special simple complex hard safe unsafe insecure protect protected protection hidden hide lock unlock locked gate
sesame welcome hello letmein trustno qwerty asdf zxcvbn iloveyou princess football baseball soccer hockey batman
superman spiderman ironman starwars pokemon minecraft matrix ninja pirate wizard hacker hacked hack nimda
changeme replace placeholder example sample dummy fake mock foo bar baz qux acme contoso fabrikam initech
michael jordan jennifer hunter ranger buster tigger charlie thomas robert daniel jessica ashley andrew joshua
matthew david james john peter paul mark anna maria alex chris sam max ben tom bob alice eve mallory trent
secure secured securely cryptography generate generated generator value values string text random long longer
longest short strong stronger strongest production productive product products customer customers partner
partners billing payment payments invoice order orders shop store cart checkout market marketing sales support
help desk ticket tickets admin admins owner owners manager managers operator operators ops devops sre engineer
engineering infra infrastructure platform platforms core common shared global region zone east west north south
central europe asia america africa london paris berlin tokyo york new sydney
webhook webhooks hook hooks event events queue queues worker workers job jobs task tasks cron schedule scheduler
cache caching memory storage store bucket buckets object objects file files upload download stream streams
message messages notify notification notifications alert alerts alarm log logs logging audit trace tracing
index search query queries report reports export import sync backup restore archive
identity identities role roles permission permissions policy policies scope scopes grant grants claim claims
issuer audience subject signing verification verifier refresh expire expires expiry expired revoke revoked
rate limit limits limiter throttle quota burst window bucket
internal intranet extranet corporate office headquarters branch team teams squad crew staff employee employees
`;

/** The lower-case dictionary (letters only, at least 3 long), without duplicates. */
export const COMMON_WORDS: readonly string[] = [
  ...new Set(
    WORDS.split(/\s+/)
      .map((w) => w.toLowerCase())
      .filter((w) => /^[a-z]{3,}$/.test(w)),
  ),
];
