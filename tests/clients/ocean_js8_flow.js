// The flow of ocean.js 8's own integration tests (PublishEditConsume, Provider, Auth), with the
// real @oceanprotocol/lib 8.6.2 or 8.0.0 (NODE_PATH says which), unchanged, against this provider
// as both its node URL and its indexer. Run by tests/clients/test_ocean_js8.py; prints
// `RESULT <json>` last.
// Environment: NETWORK_URL, PROVIDER_URL, ADDRESS_FILE, PUBLISHER_KEY, CONSUMER_KEY, DATA_URL,
// and CLASSIC_DID (an asset published by a classic client, which ocean.js 8 must consume too).
const fs = require('fs')
const { ethers, getAddress, toBeHex } = require('ethers')
const lib = require('@oceanprotocol/lib')
const { Aquarius, ProviderInstance, NftFactory, Nft, Datatoken, ZERO_ADDRESS, getEventFromTx, downloadFile } = lib

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
  console.log('RESULT ' + JSON.stringify(steps))
}

main().then(() => process.exit(0)).catch((error) => { console.error(error); process.exit(1) })
