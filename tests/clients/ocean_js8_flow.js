// The flow of ocean.js 8's own integration tests (PublishEditConsume, Provider, Auth, ComputeFlow), with the
// real @oceanprotocol/lib 8.6.2 or 8.0.0 (NODE_PATH says which), unchanged, against this provider
// as both its node URL and its indexer. Run by tests/clients/test_ocean_js8.py; prints
// `RESULT <json>` last.
// Environment: NETWORK_URL, PROVIDER_URL, ADDRESS_FILE, PUBLISHER_KEY, CONSUMER_KEY, DATA_URL,
// and CLASSIC_DID (an asset published by a classic client, which ocean.js 8 must consume too).
const fs = require('fs')
const { ethers, getAddress, toBeHex } = require('ethers')
const lib = require('@oceanprotocol/lib')
const { Aquarius, ProviderInstance, NftFactory, Nft, Datatoken, ZERO_ADDRESS, getEventFromTx, downloadFile,
  EscrowContract, unitsToAmount } = lib

const env = process.env
const providerUrl = env.PROVIDER_URL
const CHAIN = 8996
const steps = {}
const step = (name, value = true) => { steps[name] = value; console.log(`ocean.js 8: ${name}`) }
const sha256 = (text) => require('crypto').createHash('sha256').update(text).digest('hex')
const version = JSON.parse(fs.readFileSync(require('path').join(env.NODE_PATH, '@oceanprotocol', 'lib', 'package.json'),
  'utf8')).version

async function createAsset (owner, name, files, ddo) {
  // as ocean.js's test helper createAssetHelper does it
  const factory = new NftFactory(addresses.ERC721Factory, owner)
  const ownerAddress = await owner.getAddress()
  const bundle = await factory.createNftWithDatatoken(
    { name, symbol: 'OJ8', templateIndex: 1, tokenURI: 'aaa', transferable: true, owner: ownerAddress },
    { templateIndex: 1, cap: '100000', feeAmount: '0', paymentCollector: ZERO_ADDRESS, feeToken: ZERO_ADDRESS,
      minter: ownerAddress, mpFeeAddress: ZERO_ADDRESS }, false)
  const receipt = await bundle.wait()
  const nftAddress = getEventFromTx(receipt, 'NFTCreated').args.newTokenAddress
  const datatoken = getEventFromTx(receipt, 'TokenCreated').args.newTokenAddress
  ddo.chainId = CHAIN
  ddo.services[0].files = await ProviderInstance.encrypt({ datatokenAddress: datatoken, nftAddress, files }, CHAIN,
    providerUrl, owner)
  ddo.services[0].datatokenAddress = datatoken
  ddo.services[0].serviceEndpoint = providerUrl
  ddo.nftAddress = nftAddress
  ddo.id = 'did:op:' + sha256(getAddress(nftAddress) + CHAIN)
  const tx = await publishMetadata(owner, ddo)
  return { did: ddo.id, datatoken, nftAddress, tx }
}

async function publishMetadata (owner, ddo) {
  const encrypted = await ProviderInstance.encrypt(ddo, CHAIN, providerUrl, owner)
  const validation = await aquarius.validate(ddo, owner, providerUrl)
  if (!validation || !validation.valid) throw new Error('ddo/validate refused the document')
  // the hash ocean.js puts on chain is what we returned: sha256 of the document as it serialised it
  if (validation.hash !== '0x' + sha256(JSON.stringify(ddo))) throw new Error('validate hash is not sha256(ddo)')
  const tx = await new Nft(owner, CHAIN).setMetadata(ddo.nftAddress, await owner.getAddress(), 0, providerUrl, '',
    toBeHex(2), encrypted, validation.hash)
  return (await tx.wait()).hash
}

async function orderAsset (did, serviceId, datatokenAddress, consumer, minter) {
  // ocean.js's helper: initialize, then startOrder with the returned provider fee
  await (await new Datatoken(minter, CHAIN).mint(datatokenAddress, await minter.getAddress(), '10',
    await consumer.getAddress())).wait()
  const init = await ProviderInstance.initialize(did, serviceId, 0, await consumer.getAddress(), providerUrl)
  const fee = init.providerFee
  const tx = await new Datatoken(consumer, CHAIN).startOrder(datatokenAddress, await consumer.getAddress(), 0, {
    providerFeeAddress: fee.providerFeeAddress, providerFeeToken: fee.providerFeeToken,
    providerFeeAmount: fee.providerFeeAmount, v: fee.v, r: fee.r, s: fee.s, providerData: fee.providerData,
    validUntil: fee.validUntil })
  return (await tx.wait()).hash
}

async function download (did, serviceId, orderTx, consumer) {
  const url = await ProviderInstance.getDownloadUrl(did, serviceId, 0, orderTx, providerUrl, consumer)
  const file = await downloadFile(url)
  const again = await fetch(url) // each URL carries its nonce: it works once
  return { text: Buffer.from(file.data).toString(), filename: file.filename, replay: again.status }
}

let addresses, aquarius
async function main () {
  // no request cache: a cached transaction count would reuse a nonce between quick transactions
  const chain = new ethers.JsonRpcProvider(env.NETWORK_URL, undefined, { cacheTimeout: -1 })
  const publisher = new ethers.Wallet(env.PUBLISHER_KEY, chain)
  const consumer = new ethers.Wallet(env.CONSUMER_KEY, chain)
  addresses = JSON.parse(fs.readFileSync(env.ADDRESS_FILE, 'utf8')).development
  aquarius = new Aquarius(providerUrl)
  step('version', version)

  step('valid_provider', await ProviderInstance.isValidProvider(providerUrl))
  const status = await ProviderInstance.getNodeStatus(providerUrl)
  step('node_status', status && { address: status.address, provider: Array.isArray(status.provider),
    version: typeof status.version })
  step('nonce', await ProviderInstance.getNonce(providerUrl, await consumer.getAddress()))
  const fileInfo = await ProviderInstance.getFileInfo({ type: 'url', url: env.DATA_URL, method: 'GET' },
    providerUrl, true)
  step('fileinfo', { valid: fileInfo[0].valid, checksum: fileInfo[0].checksum })

  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
  const ddo = {
    '@context': ['https://w3id.org/did/v1'], id: '', version: '4.1.0', chainId: CHAIN, nftAddress: '0x0',
    metadata: { created: now, updated: now, type: 'dataset', name: 'ocean.js 8 data',
      description: 'published by ocean.js ' + version, tags: [''], author: 'ocean-protocol',
      license: 'https://market.oceanprotocol.com/terms', additionalInformation: { termsAndConditions: true } },
    services: [{ id: 'db164c1b981e4d2974e90e61bda121512e6909c1035c908d68933ae4cfaba6b0', type: 'access', files: '',
      datatokenAddress: '0x0', serviceEndpoint: providerUrl, timeout: 0 }]
  }
  const asset = await createAsset(publisher, 'OceanJs8', [{ type: 'url', url: env.DATA_URL, method: 'GET' }], ddo)
  const resolved = await aquarius.waitForIndexer(asset.did, null, null, 500, 120)
  step('published', resolved && { did: resolved.id, name: resolved.metadata.name,
    txid: resolved.indexedMetadata.event.txid === asset.tx })

  const didFiles = await ProviderInstance.checkDidFiles(asset.did, resolved.services[0].id, providerUrl, true)
  step('did_files', { valid: didFiles[0].valid, checksum: didFiles[0].checksum })
  const orderTx = await orderAsset(asset.did, resolved.services[0].id, asset.datatoken, consumer, publisher)
  step('downloaded', await download(asset.did, resolved.services[0].id, orderTx, consumer))

  // edit: name changed, then wait for the indexer to have *this* transaction
  const edited = JSON.parse(JSON.stringify(resolved))
  delete edited.indexedMetadata; delete edited.nft; delete edited.event; delete edited.datatokens
  delete edited.stats; delete edited.purgatory
  edited.metadata.name = 'ocean.js 8 data, edited'
  const editTx = await publishMetadata(publisher, edited)
  const afterEdit = await aquarius.waitForIndexer(asset.did, editTx, null, 500, 120)
  step('edited', afterEdit && afterEdit.metadata.name)

  // an asset a classic client published, consumed by ocean.js 8
  if (env.CLASSIC_DID) {
    const classic = await aquarius.waitForIndexer(env.CLASSIC_DID, null, null, 500, 60)
    const classicService = classic.services.find((s) => s.type === 'access')
    const classicOrder = await orderAsset(classic.id, classicService.id, classicService.datatokenAddress, consumer,
      new ethers.Wallet(env.CLASSIC_PUBLISHER_KEY, chain))
    step('classic_downloaded', await download(classic.id, classicService.id, classicOrder, consumer))
  }

  // auth tokens: create, use, invalidate
  const token = await ProviderInstance.generateAuthToken(consumer, providerUrl)
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString())
  const tokenUse = {}
  if (version !== '8.0.0') { // 8.0.0's validateDdo takes a Signer only
    const own = JSON.parse(JSON.stringify(edited))
    tokenUse.before = Boolean(await ProviderInstance.validateDdo(providerUrl, own, token))
  }
  const invalidated = await ProviderInstance.invalidateAuthToken(consumer, token, providerUrl)
  if (version !== '8.0.0') {
    tokenUse.after = Boolean(await ProviderInstance.validateDdo(providerUrl, edited, token))
  }
  step('auth_token', { address: claims.address === await consumer.getAddress(), invalidated: invalidated.success,
    use: tokenUse, token })
  step('published_did', asset.did)
  await computeFlow(publisher, consumer, now)
  console.log('RESULT ' + JSON.stringify(steps))
}

// ---- ComputeFlow.test.ts: environments, a free job, initializeCompute (too many resources
// refused), escrow funds, orders, a paid job to 70, results, a restart on the same orders, stop
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const one = (jobs) => Array.isArray(jobs) ? jobs[0] : jobs

function tarMembers (buffer) {
  // a minimal ustar reader: name and bytes of each regular file
  const members = {}
  for (let offset = 0; offset + 512 <= buffer.length;) {
    const header = buffer.subarray(offset, offset + 512)
    const name = header.subarray(0, 100).toString().replace(/\0.*$/s, '')
    if (!name) break
    const size = parseInt(header.subarray(124, 136).toString().replace(/\0.*$/s, '').trim() || '0', 8)
    if (header[156] === 48 || header[156] === 0) members[name] = buffer.subarray(offset + 512, offset + 512 + size)
    offset += 512 + Math.ceil(size / 512) * 512
  }
  return members
}

async function readAll (stream) {
  const chunks = []
  for await (const chunk of stream) chunks.push(Buffer.from(chunk))
  return Buffer.concat(chunks)
}

async function handleComputeOrder (order, datatokenAddress, payer, consumerAddress) {
  // ocean.js's test helper: reuse a valid order; reuseOrder when only its fee expired; else a new order
  const fee = order.providerFee
  const datatoken = new Datatoken(payer, CHAIN)
  if (order.validOrder && !fee) return order.validOrder
  const providerFees = fee && { providerFeeAddress: fee.providerFeeAddress, providerFeeToken: fee.providerFeeToken,
    providerFeeAmount: fee.providerFeeAmount, v: fee.v, r: fee.r, s: fee.s, providerData: fee.providerData,
    validUntil: fee.validUntil }
  if (order.validOrder) return (await (await datatoken.reuseOrder(datatokenAddress, order.validOrder, providerFees)).wait()).hash
  return (await (await datatoken.startOrder(datatokenAddress, consumerAddress, 0, providerFees)).wait()).hash
}

async function computeFlow (publisher, consumer, now) {
  const publisherAddress = await publisher.getAddress()
  const consumerAddress = await consumer.getAddress()
  const base = (type, name, services, extra = {}) => ({
    '@context': ['https://w3id.org/did/v1'], id: '', version: '4.1.0', chainId: CHAIN, nftAddress: '0x0',
    metadata: { created: now, updated: now, type, name, description: 'ocean.js ' + version + ' ComputeFlow',
      author: 'ocean-protocol', license: 'CC0', ...extra },
    services
  })
  const algoDdo = base('algorithm', 'ocean.js 8 algorithm', [{ id: 'algo', type: 'access', files: '',
    datatokenAddress: '0x0', serviceEndpoint: providerUrl, timeout: 0 }],
  { algorithm: { language: 'python', version: '0.1', container: { entrypoint: 'python $ALGO', image: 'python',
    tag: '3.11-slim', checksum: 'sha256:' + 'ab'.repeat(32) } } })
  const dataDdo = base('dataset', 'ocean.js 8 compute data', [{ id: 'compute', type: 'compute', files: '',
    datatokenAddress: '0x0', serviceEndpoint: providerUrl, timeout: 0,
    compute: { allowRawAlgorithm: false, allowNetworkAccess: false, publisherTrustedAlgorithms: [],
      publisherTrustedAlgorithmPublishers: [publisherAddress] } }])
  const algo = await createAsset(publisher, 'OJ8Algo', [{ type: 'url', url: env.ALGORITHM_URL, method: 'GET' }], algoDdo)
  const data = await createAsset(publisher, 'OJ8Data', [{ type: 'url', url: env.DATA_URL, method: 'GET' }], dataDdo)
  for (const asset of [algo, data]) {
    await aquarius.waitForIndexer(asset.did, null, null, 500, 120)
    await (await new Datatoken(publisher, CHAIN).mint(asset.datatoken, publisherAddress, '10', consumerAddress)).wait()
  }

  const envs = await ProviderInstance.getComputeEnvironments(providerUrl)
  const computeEnv = envs.find((e) => e.free && e.fees && e.fees[CHAIN] && e.fees[CHAIN][0].prices.length)
  step('environments', { flat: Array.isArray(envs), id: computeEnv.id, payee: computeEnv.consumerAddress,
    resources: computeEnv.resources.map((r) => r.id) })
  const paymentToken = computeEnv.fees[CHAIN][0].feeToken
  const algorithm = () => ({ documentId: algo.did, serviceId: 'algo' })
  const datasets = () => [{ documentId: data.did, serviceId: 'compute' }]
  const duration = 300

  // orders for the free job (this provider keeps the publisher's price for data: see its README)
  const freeInit = await ProviderInstance.initializeCompute(datasets(), algorithm(), computeEnv.id, paymentToken,
    duration, providerUrl, consumerAddress, [], CHAIN)
  const freeAlgo = { ...algorithm(), transferTxId: await handleComputeOrder(freeInit.algorithm, algo.datatoken, consumer, computeEnv.consumerAddress) }
  const freeData = [{ ...datasets()[0], transferTxId: await handleComputeOrder(freeInit.datasets[0], data.datatoken, consumer, computeEnv.consumerAddress) }]
  const freeJob = one(await ProviderInstance.freeComputeStart(providerUrl, consumer, computeEnv.id, freeData, freeAlgo))
  const waitFor = async (jobId, until, auth = consumer) => {
    for (let i = 0; i < 240; i++) {
      const job = one(await ProviderInstance.computeStatus(providerUrl, auth, jobId))
      if (job && until(job)) return job
      await sleep(500)
    }
    throw new Error('job stuck: ' + jobId)
  }
  const freeDone = await waitFor(freeJob.jobId, (job) => job.status === 70)
  step('free_job', { isFree: freeJob.isFree, status: freeDone.status, statusText: freeDone.statusText })

  // too many resources: refused before anyone pays
  let refused = false
  try {
    await ProviderInstance.initializeCompute(datasets(), algorithm(), computeEnv.id, paymentToken, duration, providerUrl,
      consumerAddress, computeEnv.resources.map((r) => ({ id: r.id, amount: r.max + 1 })), CHAIN)
  } catch (error) { refused = error.message.length > 0 }
  step('too_many_resources_refused', refused)

  const resources = [{ id: 'cpu', amount: 1 }, { id: 'ram', amount: 1 }, { id: 'disk', amount: 0 }]
  const init = await ProviderInstance.initializeCompute(datasets(), algorithm(), computeEnv.id, paymentToken, duration,
    providerUrl, consumerAddress, resources, CHAIN)
  const perMinute = resources.reduce((sum, r) => sum + r.amount * ((computeEnv.fees[CHAIN][0].prices.find((p) => p.id === r.id) || {}).price || 0), 0)
  step('payment', { escrow: init.payment.escrowAddress === addresses.Escrow, payee: init.payment.payee === computeEnv.consumerAddress,
    token: init.payment.token === paymentToken, amount: init.payment.amount, minLockSeconds: init.payment.minLockSeconds,
    perMinute })

  const escrow = new EscrowContract(getAddress(init.payment.escrowAddress), consumer)
  // a wallet's allowance first: the helper deposits the whole token balance when it is larger
  // than what it approves itself (ocean.js 8's verifyFundsForEscrowPayment)
  await (await new Datatoken(consumer, CHAIN).approve(paymentToken, init.payment.escrowAddress, '1000000000')).wait()
  await escrow.verifyFundsForEscrowPayment(paymentToken, computeEnv.consumerAddress,
    await unitsToAmount(consumer, paymentToken, (BigInt(init.payment.amount) * 4n).toString()),
    init.payment.amount.toString(), init.payment.minLockSeconds.toString(), '10')
  const funds = async () => (await escrow.getUserFunds(consumerAddress, paymentToken)).map((x) => x.toString())
  const wanted = BigInt(init.payment.amount) * 4n
  if (BigInt((await funds())[0]) < wanted) { // the helper deposits only into an empty account
    await escrow.deposit(paymentToken, await unitsToAmount(consumer, paymentToken, wanted.toString()))
  }
  const auths = await escrow.getAuthorizations(paymentToken, consumerAddress, computeEnv.consumerAddress)
  const before = await funds()
  step('escrow_funded', { funds: BigInt(before[0]) > 0n, authorized: auths.length > 0 })

  const algo1 = { ...algorithm(), transferTxId: await handleComputeOrder(init.algorithm, algo.datatoken, consumer, computeEnv.consumerAddress) }
  const data1 = [{ ...datasets()[0], transferTxId: await handleComputeOrder(init.datasets[0], data.datatoken, consumer, computeEnv.consumerAddress) }]
  const paid = one(await ProviderInstance.computeStart(providerUrl, consumer, computeEnv.id, data1, algo1, duration,
    paymentToken, resources, CHAIN, { name: 'ocean.js 8 paid job' }))
  const locked = await funds()
  const token = await ProviderInstance.generateAuthToken(consumer, providerUrl)
  const paidDone = await waitFor(paid.jobId, (job) => job.status === 70, token)
  const outputsIndex = paidDone.results.find((r) => r.filename === 'outputs.tar').index
  const url = await ProviderInstance.getComputeResultUrl(providerUrl, consumer, paid.jobId, outputsIndex)
  const tar = Buffer.from(await (await fetch(url)).arrayBuffer())
  const streamed = await readAll(await ProviderInstance.getComputeResult(providerUrl, consumer, paid.jobId, outputsIndex))
  const resumed = await readAll(await ProviderInstance.getComputeResult(providerUrl, consumer, paid.jobId, outputsIndex, 512))
  const members = tarMembers(tar)
  const receiptIndex = paidDone.results.find((r) => r.type === 'receipt').index
  const receipt = await (await fetch(await ProviderInstance.getComputeResultUrl(providerUrl, consumer, paid.jobId,
    receiptIndex))).text()
  step('paid_job', { receipt, outputText: members['outputs/result.json'].toString(), status: paidDone.status, results: paidDone.results.map((r) => r.filename),
    output: JSON.parse(members['outputs/result.json'].toString()), streamed: streamed.equals(tar),
    resumed: resumed.equals(tar.subarray(512)), cost: paidDone.payment.cost, claimTx: Boolean(paidDone.payment.claimTx),
    metadata: paidDone.metadata, funds: { before, locked, after: await funds() } })

  // the same orders again: valid, no provider fee, only a new escrow lock
  const again = await ProviderInstance.initializeCompute(data1, algo1, computeEnv.id, paymentToken, duration,
    providerUrl, consumerAddress, resources, CHAIN)
  step('restart_offer', { algorithm: again.algorithm.validOrder === algo1.transferTxId && !again.algorithm.providerFee,
    dataset: again.datasets[0].validOrder === data1[0].transferTxId && !again.datasets[0].providerFee })
  const long = one(await ProviderInstance.computeStart(providerUrl, consumer, computeEnv.id, data1,
    { ...algo1, algocustomdata: { sleep: 60 } }, duration, paymentToken, resources, CHAIN))
  await waitFor(long.jobId, (job) => job.status === 40)
  const logs = await ProviderInstance.computeStreamableLogs(providerUrl, consumer, long.jobId)
  let live = ''
  for await (const chunk of logs) { live += Buffer.from(chunk).toString(); if (live.includes('working')) break }
  const stopped = one(await ProviderInstance.computeStop(long.jobId, providerUrl, consumer))
  const longDone = await waitFor(long.jobId, (job) => job.status === 70, token)
  step('restarted_and_stopped', { live: live.includes('working'), stopRequested: stopped.stopRequested,
    status: longDone.status, cost: longDone.payment.cost, funds: await funds() })
}

main().then(() => process.exit(0)).catch((error) => { console.error(error); process.exit(1) })
