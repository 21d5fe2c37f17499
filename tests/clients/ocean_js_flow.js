// End-to-end flow with ocean.js (@oceanprotocol/lib 3.3.0 + ethers 5.7.2), unchanged, against
// this provider. The provider is both providerUri and metadataCacheUri (no Aquarius).
// Run by tests/clients/test_ocean_js.py; prints one line `RESULT <json>` at the end.
// Environment: NETWORK_URL, PROVIDER_URL, ADDRESS_FILE, PUBLISHER_KEY, CONSUMER_KEY, DATA_URL,
// ALGORITHM_URL.
const fs = require('fs')
const { ethers } = require('ethers')
const {
  Aquarius, ProviderInstance, NftFactory, Nft, Datatoken, ZERO_ADDRESS, getEventFromTx, generateDid
} = require('@oceanprotocol/lib')

const env = process.env
const providerUrl = env.PROVIDER_URL
const CHAIN = 8996
const steps = {}
const step = (name, value = true) => { steps[name] = value; console.log(`ocean.js: ${name}`) }
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const mined = async (tx) => (tx.wait ? tx.wait() : tx)

async function publish (owner, name, type, files, service, algorithm) {
  const ownerAddress = await owner.getAddress()
  const factory = new NftFactory(addresses.ERC721Factory, owner, CHAIN)
  const receipt = await mined(await factory.createNftWithDatatoken(
    { name, symbol: 'OJS', templateIndex: 1, tokenURI: '', transferable: true, owner: ownerAddress },
    { templateIndex: 1, cap: '100000', feeAmount: '0', paymentCollector: ZERO_ADDRESS, feeToken: ZERO_ADDRESS,
      minter: ownerAddress, mpFeeAddress: ZERO_ADDRESS }))
  const nftAddress = getEventFromTx(receipt, 'NFTCreated').args.newTokenAddress
  const datatoken = getEventFromTx(receipt, 'TokenCreated').args.newTokenAddress
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
  const ddo = {
    '@context': ['https://w3id.org/did/v1'],
    id: generateDid(nftAddress, CHAIN),
    version: '4.1.0',
    chainId: CHAIN,
    nftAddress,
    metadata: { created: now, updated: now, type, name, description: `${name} (ocean.js)`, author: 'ocean.js test',
      license: 'CC0', ...(algorithm ? { algorithm } : {}) },
    services: [{
      id: '0', files: await ProviderInstance.encrypt({ datatokenAddress: datatoken, nftAddress, files }, CHAIN, providerUrl),
      datatokenAddress: datatoken, serviceEndpoint: providerUrl, timeout: 0, ...service
    }]
  }
  const validation = await aquarius.validate(ddo)
  if (!validation.valid) throw new Error('ddo/validate refused: ' + JSON.stringify(validation))
  const encrypted = await ProviderInstance.encrypt(ddo, CHAIN, providerUrl)
  await mined(await new Nft(owner, CHAIN).setMetadata(
    nftAddress, ownerAddress, 0, providerUrl, '', '0x02', encrypted, '0x' + validation.hash.replace(/^0x/, '')))
  const resolved = await aquarius.waitForAqua(ddo.id)
  if (!resolved || resolved.id !== ddo.id) throw new Error('the provider never served ' + ddo.id)
  return { did: ddo.id, datatoken }
}

async function handleOrder (order, datatokenAddress, payer, consumerAddress) {
  const datatoken = new Datatoken(payer, CHAIN)
  if (order.validOrder) {
    if (!order.providerFee) return order.validOrder
    return (await mined(await datatoken.reuseOrder(datatokenAddress, order.validOrder, order.providerFee))).transactionHash
  }
  return (await mined(await datatoken.startOrder(datatokenAddress, consumerAddress, 0, order.providerFee))).transactionHash
}

let addresses, aquarius

async function main () {
  const chain = new ethers.providers.JsonRpcProvider(env.NETWORK_URL)
  const publisher = new ethers.Wallet(env.PUBLISHER_KEY, chain)
  const consumer = new ethers.Wallet(env.CONSUMER_KEY, chain)
  const consumerAddress = await consumer.getAddress()
  addresses = JSON.parse(fs.readFileSync(env.ADDRESS_FILE, 'utf8')).development
  aquarius = new Aquarius(providerUrl)

  step('valid_provider', await ProviderInstance.isValidProvider(providerUrl))

  // ---- access: publish, resolve, order, download twice (the nonce moves on) -----------------
  const data = await publish(publisher, 'ocean.js data', 'dataset', [{ type: 'url', url: env.DATA_URL, method: 'GET' }],
    { type: 'access' })
  step('published', data.did)
  step('resolved_metadata', (await aquarius.getAssetMetadata(data.did)).name)
  await mined(await new Datatoken(publisher, CHAIN).mint(data.datatoken, await publisher.getAddress(), '10', consumerAddress))
  const fileinfo = await ProviderInstance.checkDidFiles(data.did, '0', providerUrl, true)
  step('fileinfo', { valid: fileinfo[0].valid, checksum: fileinfo[0].checksum })
  const init = await ProviderInstance.initialize(data.did, '0', 0, consumerAddress, providerUrl)
  const order = await handleOrder(init, data.datatoken, consumer, consumerAddress)
  step('ordered', order)
  const first = await ProviderInstance.getDownloadUrl(data.did, '0', 0, order, providerUrl, consumer)
  const firstBody = await (await fetch(first)).text()
  const second = await ProviderInstance.getDownloadUrl(data.did, '0', 0, order, providerUrl, consumer)
  const secondBody = await (await fetch(second)).text()
  const replay = await fetch(first)
  step('downloaded', [firstBody, secondBody])
  step('replayed_url', { status: replay.status, body: await replay.json() })

  // ---- an asset ocean.js 8 published (one serviceEndpoint, either generation consumes it) ----
  if (env.CROSS_DID) {
    const other = await aquarius.waitForAqua(env.CROSS_DID)
    const service = other.services.find((s) => s.type === 'access')
    const crossPublisher = new ethers.Wallet(env.CROSS_PUBLISHER_KEY, chain)
    await mined(await new Datatoken(crossPublisher, CHAIN).mint(service.datatokenAddress, await crossPublisher.getAddress(),
      '10', consumerAddress))
    const crossInit = await ProviderInstance.initialize(other.id, service.id, 0, consumerAddress, providerUrl)
    const crossOrder = await handleOrder(crossInit, service.datatokenAddress, consumer, consumerAddress)
    const crossUrl = await ProviderInstance.getDownloadUrl(other.id, service.id, 0, crossOrder, providerUrl, consumer)
    step('cross_downloaded', await (await fetch(crossUrl)).text())
  }
  if (env.ONLY_ACCESS) {
    console.log('RESULT ' + JSON.stringify(steps))
    return
  }

  // ---- compute: a dataset trusting its publisher's algorithms, and one such algorithm ------
  const publisherAddress = await publisher.getAddress()
  const cdata = await publish(publisher, 'ocean.js compute data', 'dataset',
    [{ type: 'url', url: env.DATA_URL, method: 'GET' }],
    { type: 'compute', compute: { publisherTrustedAlgorithmPublishers: [publisherAddress], publisherTrustedAlgorithms: [],
      allowRawAlgorithm: false, allowNetworkAccess: false } })
  const algo = await publish(publisher, 'ocean.js algorithm', 'algorithm',
    [{ type: 'url', url: env.ALGORITHM_URL, method: 'GET' }], { type: 'access' },
    { language: 'python', version: '0.1',
      container: { entrypoint: 'python $ALGO', image: 'python', tag: '3.11-slim', checksum: 'sha256:' + 'ab'.repeat(32) } })
  for (const token of [cdata.datatoken, algo.datatoken]) {
    await mined(await new Datatoken(publisher, CHAIN).mint(token, publisherAddress, '10', consumerAddress))
  }
  const environments = await ProviderInstance.getComputeEnvironments(providerUrl)
  const computeEnv = environments[CHAIN].find((e) => e.priceMin === 0)
  step('environment', computeEnv.id)

  async function orderAndStart (custom) {
    const dataset = { documentId: cdata.did, serviceId: '0' }
    const algorithm = { documentId: algo.did, serviceId: '0', ...(custom ? { algocustomdata: custom } : {}) }
    const validUntil = Math.floor(Date.now() / 1000) + 3600
    const fees = await ProviderInstance.initializeCompute([dataset], algorithm, computeEnv.id, validUntil, providerUrl,
      consumerAddress)
    algorithm.transferTxId = await handleOrder(fees.algorithm, algo.datatoken, consumer, computeEnv.consumerAddress)
    dataset.transferTxId = await handleOrder(fees.datasets[0], cdata.datatoken, consumer, computeEnv.consumerAddress)
    const jobs = await ProviderInstance.computeStart(providerUrl, consumer, computeEnv.id, dataset, algorithm)
    return (Array.isArray(jobs) ? jobs[0] : jobs).jobId
  }
  async function waitFor (jobId, until) {
    for (let i = 0; i < 240; i++) {
      const status = await ProviderInstance.computeStatus(providerUrl, consumerAddress, jobId, cdata.did)
      const job = Array.isArray(status) ? status[0] : status
      if (until(job)) return job
      await sleep(500)
    }
    throw new Error('job stuck: ' + jobId)
  }

  let jobId = await orderAndStart()
  step('job_started', jobId)
  const finished = await waitFor(jobId, (job) => job.status === 70)
  step('job_finished', finished.status)
  const results = []
  for (let index = 0; index < 4; index++) {
    const url = await ProviderInstance.getComputeResultUrl(providerUrl, consumer, jobId, index)
    const response = await fetch(url)
    if (response.status !== 200) break
    results.push(await response.text())
  }
  step('job_results', results)
  // Delete: ocean.js 3.x leaves the nonce out of the body; the provider takes the next one.
  await ProviderInstance.computeDelete(cdata.did, consumer, jobId, providerUrl)
  let gone = false
  try { await ProviderInstance.computeStatus(providerUrl, consumerAddress, jobId, cdata.did) } catch (e) { gone = true }
  step('deleted', gone)

  jobId = await orderAndStart({ sleep: 60 })
  await waitFor(jobId, (job) => job.status === 40)
  const stopped = await ProviderInstance.computeStop(cdata.did, consumerAddress, jobId, providerUrl, consumer)
  step('stop_answer', (Array.isArray(stopped) ? stopped[0] : stopped).jobId === jobId)
  step('stopped', (await waitFor(jobId, (job) => job.status >= 70)).status)
  console.log('RESULT ' + JSON.stringify(steps))
}

main().catch((error) => { console.error(error); process.exit(1) })
